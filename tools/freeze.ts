/**
 * `deno task freeze`: rewrite the frozen-surface snapshots on purpose. Writes the normalised
 * public API to tests/snapshots/api.json and one JSON Schema per zod contract to
 * schemas/<ContractName>.json (removing the files of contracts that are gone), then prints what
 * changed. A change to a frozen shape should be a new `...V2` name, not an edit.
 *
 * @module
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
  API_SNAPSHOT,
  collectSurface,
  diffSurface,
  readSnapshots,
  SCHEMA_DIR,
} from "./_surface.ts";

const root = Deno.args[0] ?? Deno.cwd();
const frozen = await readSnapshots(root);
const current = await collectSurface(root);

await mkdir(dirname(join(root, API_SNAPSHOT)), { recursive: true });
await writeFile(join(root, API_SNAPSHOT), json(current.api));
await mkdir(join(root, SCHEMA_DIR), { recursive: true });
for (const name of Object.keys(frozen.schemas)) {
  if (!(name in current.schemas)) await rm(join(root, SCHEMA_DIR, `${name}.json`));
}
for (const [name, schema] of Object.entries(current.schemas)) {
  await writeFile(join(root, SCHEMA_DIR, `${name}.json`), json(schema));
}

const changes = diffSurface(frozen, current);
for (const line of changes) console.log(line);
console.log(
  `Froze ${Object.keys(current.schemas).length} contract schemas and the API of ` +
    `${Object.keys(current.api).join(", ")}: ${changes.length} change(s)`,
);

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
