/**
 * `deno task npm`: build the npm package in dist/npm/ (gitignored), ready for `npm pack`.
 *
 * - JavaScript and `.d.ts` types compiled by TypeScript's own compiler (`tsc`, pinned below)
 *   from a copy of the published sources, mirroring their layout: `mod.js`, `postgres.js`, ...,
 *   `src/`, `migrations/` (the runner finds them by static import, as in the source).
 *   `rewriteRelativeImportExtensions` turns `./src/x.ts` into `./src/x.js`.
 * - package.json: name, version and license from deno.json, ESM, an `exports` map with `types`
 *   and `default` conditions for every export of deno.json (so `./otel` appears with `otel.ts`).
 *   The npm packages the entry points import (found by `deno info`, never a hand list) are
 *   `dependencies`, except the drivers, which are optional `peerDependencies`: a user installs
 *   `postgres` for `./postgres` and `./migrate`, `@aws-sdk/*` for `./s3`, and nothing for `.`.
 * - README.md, LICENSE and CHANGELOG.md.
 *
 * The compiler, the Node types and every dependency come from the npm registry (`npm install`
 * in the temporary copy, through npm's cache).
 *
 * Usage: `deno run -A tools/build_npm.ts` (part of `deno task node`).
 *
 * @module
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The compiler the build uses (the Node types are deno.json's: Node 20, the oldest supported). */
const TYPESCRIPT = "5.9.3";
/** Driver packages: optional peers of the entry point that loads them. */
const DRIVER = /^(postgres|@aws-sdk\/.*|@electric-sql\/.*|@opentelemetry\/api)$/;
/** Copied from the root into the package beside the compiled code. */
const DOCS = ["README.md", "LICENSE", "CHANGELOG.md"];

const root = fileURLToPath(new URL("..", import.meta.url));
const out = join(root, "dist/npm");
const config = JSON.parse(await readFile(join(root, "deno.json"), "utf8")) as {
  name: string;
  version: string;
  license: string;
  exports: Record<string, string>;
  imports: Record<string, string>;
};
const entries = Object.values(config.exports).map((path) => path.replace(/^\.\//, ""));
const packages = await npmImports(entries);
const dependencies = pick(packages, (name) => !DRIVER.test(name), (v) => v);
const peers = pick(packages, (name) => DRIVER.test(name), (v) => `^${v}`);

const work = await mkdtemp(join(tmpdir(), "plm-npm-build-"));
try {
  for (const path of [...entries, "src", "migrations"]) {
    await cp(join(root, path), join(work, path), { recursive: true });
  }
  await writeJson(join(work, "package.json"), {
    private: true,
    type: "module",
    devDependencies: {
      ...packages,
      "typescript": TYPESCRIPT,
      "@types/node": config.imports["@types/node"].replace(/^npm:@types\/node@/, ""),
    },
  });
  await run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], work);
  // `import.meta.main` is Deno's (the CLI guard of migrate.ts); under Node it is undefined.
  await writeFile(join(work, "deno_globals.d.ts"), "interface ImportMeta { main?: boolean }\n");
  await writeJson(join(work, "tsconfig.json"), {
    compilerOptions: {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      lib: ["ES2024", "DOM", "DOM.Iterable", "DOM.AsyncIterable", "ESNext.Disposable"],
      types: ["node"],
      strict: true,
      skipLibCheck: true,
      declaration: true,
      rewriteRelativeImportExtensions: true,
      outDir: "out",
    },
    include: ["deno_globals.d.ts", ...entries, "src", "migrations"],
  });
  await run("npx", ["--no-install", "tsc", "-p", "."], work);

  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await cp(join(work, "out"), out, { recursive: true });
  for (const doc of DOCS) await cp(join(root, doc), join(out, doc));
  await writeJson(join(out, "package.json"), {
    name: config.name,
    version: config.version,
    description: "Frozen contracts of the TracePulse PLM platform: kernel events with " +
      "idempotency, trace and tenant context, pricing, artifacts, PostgreSQL migrations",
    license: config.license,
    type: "module",
    engines: { node: ">=20" },
    exports: Object.fromEntries(
      Object.entries(config.exports).map(([subpath, path]) => {
        const base = path.replace(/\.ts$/, "");
        return [subpath, { types: `${base}.d.ts`, default: `${base}.js` }];
      }),
    ),
    dependencies,
    peerDependencies: peers,
    peerDependenciesMeta: Object.fromEntries(
      Object.keys(peers).map((name) => [name, { optional: true }]),
    ),
  });
  console.log(`Built ${config.name}@${config.version} in dist/npm/`);
} finally {
  await rm(work, { recursive: true, force: true });
}

/** The npm packages the entry points import directly (name → version), sorted by name. */
async function npmImports(files: string[]): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  for (const file of files) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--node-modules-dir=none", file],
      cwd: root,
      stderr: "inherit",
    }).output();
    if (!output.success) Deno.exit(output.code);
    const graph = JSON.parse(new TextDecoder().decode(output.stdout)) as {
      modules: { kind: string; npmPackage?: string }[];
    };
    for (const module of graph.modules) {
      // "zod@4.6.7", "@aws-sdk/lib-storage@3.1175.0_@aws-sdk+client-s3@3.1175.0" (peers).
      const match = /^(@?[^@]+)@([^_]+)/.exec(module.npmPackage ?? "");
      if (module.kind === "npm" && match) found[match[1]] = match[2];
    }
  }
  return pick(found, () => true, (v) => v);
}

function pick(
  versions: Record<string, string>,
  keep: (name: string) => boolean,
  range: (version: string) => string,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(versions).filter(([name]) => keep(name)).sort().map(([n, v]) => [n, range(v)]),
  );
}

async function run(command: string, args: string[], cwd: string): Promise<void> {
  const { code } = await new Deno.Command(command, { args, cwd }).spawn().status;
  if (code !== 0) Deno.exit(code);
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}
