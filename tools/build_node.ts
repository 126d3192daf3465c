/**
 * Build the package for Node into dist/ (gitignored), mirroring the source layout:
 *
 * - dist/lib/: one ES module per export of deno.json (`mod.js`, `postgres.js`, `s3.js`),
 *   shared code in chunks, so an error class is one class across entry points;
 * - dist/migrations/: each migration as JavaScript, where the migration runner (at
 *   dist/lib/, looking in `../migrations/`) finds them, as src/migrate.ts does in the source.
 *
 * Every npm dependency of the import map stays an external import by its bare name, which
 * Node resolves from node_modules.
 *
 * Usage: `deno run -A tools/build_node.ts` (part of `deno task node`).
 *
 * @module
 */
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const config = JSON.parse(await readFile(join(root, "deno.json"), "utf8")) as {
  exports: Record<string, string>;
  imports: Record<string, string>;
};
const externals = Object.entries(config.imports)
  .filter(([, target]) => target.startsWith("npm:"))
  .flatMap(([name]) => [`--external=${name}`, `--external=${name}/*`]);
const migrations = (await readdir(join(root, "migrations")))
  .filter((name) => /\.[cm]?ts$/.test(name))
  .map((name) => `migrations/${name}`);

await rm(join(root, "dist"), { recursive: true, force: true });
await bundle(["--code-splitting", "--outdir=dist/lib", ...Object.values(config.exports)]);
if (migrations.length > 0) await bundle(["--outdir=dist/migrations", ...migrations]);

async function bundle(args: string[]): Promise<void> {
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform=deno", "--format=esm", ...externals, ...args],
    cwd: root,
  }).spawn().status;
  if (code !== 0) Deno.exit(code);
}
