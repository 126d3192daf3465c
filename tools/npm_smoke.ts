/**
 * The npm package as a Node user gets it (after `deno task npm` built dist/npm/):
 *
 * 1. `npm pack` it into a temporary directory and lint the tarball with
 *    `@arethetypeswrong/cli` (profile `esm-only`: the package is ESM, for Node 20 and later) and
 *    `publint`, both pinned below; any problem they report fails;
 * 2. `npm init -y` a fresh project there and install the tarball alone: the contracts load with
 *    no driver installed, and no test-only package came along;
 * 3. install the `postgres` driver (the version of deno.json), copy `tests/node/*.mjs` in and run
 *    them with `node --test`: they import the package by name. With `PG_DSN` set they migrate a
 *    fresh database and emit on that server.
 *
 * Usage: `deno run -A tools/npm_smoke.ts` (part of `deno task node`). Exits 1 at the first
 * failing step, naming it.
 *
 * @module
 */
import { cp, mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package linters, pinned. */
const ATTW = "@arethetypeswrong/cli@0.18.5";
const PUBLINT = "publint@0.3.25";
/** Packages only the tests use: installing the package must never bring them. */
const TEST_ONLY = ["s3rver", "fast-check", "hono", "@opentelemetry/sdk-"];

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = join(root, "dist/npm");
const imports = JSON.parse(await readFile(join(root, "deno.json"), "utf8")).imports as Record<
  string,
  string
>;
const work = await mkdtemp(join(tmpdir(), "plm-npm-smoke-"));
let failure: unknown;
try {
  const packed = await capture("npm", ["pack", "--json", "--pack-destination", work], dist);
  const tarball = join(work, (JSON.parse(packed) as { filename: string }[])[0].filename);
  console.log(`Packed ${tarball}`);
  await run("npx", ["-y", ATTW, "--profile", "esm-only", tarball], work);
  await run("npx", ["-y", PUBLINT, dist], work);

  const project = join(work, "project");
  await mkdir(project);
  await run("npm", ["init", "-y", "--silent"], project, true);
  await run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", tarball], project);
  await run("node", [
    "--input-type=module",
    "-e",
    'const plm = await import("@tracepulse/plm-shared"); plm.computeContentHash({});',
  ], project);
  const installed = await capture("npm", ["ls", "--all", "--parseable"], project);
  const intruders = TEST_ONLY.filter((name) => installed.includes(`/node_modules/${name}`));
  if (intruders.length > 0) throw new Error(`The package installed test-only ${intruders}`);
  console.log("The contracts load without drivers; no test-only package installed");

  const postgres = imports.postgres.replace(/^npm:/, "");
  await run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", postgres], project);
  const files = (await readdir(join(root, "tests/node"))).filter((f) => f.endsWith(".mjs"));
  for (const file of files) await cp(join(root, "tests/node", file), join(project, file));
  // `_*.mjs` are shared fixtures, not suites.
  await run("node", ["--test", ...files.filter((f) => !f.startsWith("_")).sort()], project);
} catch (error) {
  failure = error;
} finally {
  await rm(work, { recursive: true, force: true });
}
if (failure !== undefined) {
  console.error(`error: ${failure instanceof Error ? failure.message : String(failure)}`);
  Deno.exit(1);
}

async function run(command: string, args: string[], cwd: string, quiet = false): Promise<void> {
  const { code } = await new Deno.Command(command, {
    args,
    cwd,
    stdout: quiet ? "null" : "inherit",
  }).spawn().status;
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} exited ${code}`);
}

async function capture(command: string, args: string[], cwd: string): Promise<string> {
  const output = await new Deno.Command(command, { args, cwd, stderr: "inherit" }).output();
  if (!output.success) throw new Error(`${command} ${args.join(" ")} exited ${output.code}`);
  return new TextDecoder().decode(output.stdout);
}
