/**
 * Internal: the frozen surface of the package, shared by tools/freeze.ts (which writes the
 * snapshots) and tests/frozen_surface_test.ts (which fails on drift).
 *
 * - API: for each export of deno.json, `deno doc --json` of its entry file, every symbol with
 *   its kinds and types; locations, JSDoc and `async` (vs returning a Promise) are dropped, so
 *   doc edits and refactors are not drift.
 * - Schemas: every export that is a zod schema, as `z.toJSONSchema(schema, { io: "input" })`
 *   (the JSON a caller may send), titled with its export name.
 *
 * @module
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { z } from "zod";

/** Everything frozen: the API per entry file and the JSON Schema per contract name. */
export interface Surface {
  /** Entry file (`"mod.ts"`) → symbol name → normalised declarations. */
  api: Record<string, Record<string, unknown>>;
  /** Contract name (`"EmitTelemetryArgs"`) → JSON Schema. */
  schemas: Record<string, unknown>;
}

/** Where the snapshots live, relative to the package root. */
export const API_SNAPSHOT = "tests/snapshots/api.json";
/** Directory of the JSON Schemas (one `<ContractName>.json` each). */
export const SCHEMA_DIR = "schemas";

/** The entry files named by deno.json "exports", in order. */
export async function entryFiles(root: string): Promise<string[]> {
  const config = JSON.parse(await readFile(join(root, "deno.json"), "utf8"));
  return Object.values(config.exports as Record<string, string>).map((p) => p.replace(/^\.\//, ""));
}

/** Compute the current surface of the package at `root`. */
export async function collectSurface(root: string): Promise<Surface> {
  const entries = await entryFiles(root);
  return { api: await collectApi(root, entries), schemas: await collectSchemas(root, entries) };
}

/** Read the committed snapshots of the package at `root`. */
export async function readSnapshots(root: string): Promise<Surface> {
  const api = JSON.parse(await readFile(join(root, API_SNAPSHOT), "utf8").catch(() => "{}"));
  return { api, schemas: await readSchemaDir(join(root, SCHEMA_DIR)) };
}

/** Read every `*.json` directly in `dir` as contract name → JSON Schema. */
export async function readSchemaDir(dir: string): Promise<Record<string, unknown>> {
  const names = (await readdir(dir).catch(() => [])).filter((n) => n.endsWith(".json")).sort();
  const schemas: Record<string, unknown> = {};
  for (const name of names) {
    schemas[name.slice(0, -5)] = JSON.parse(await readFile(join(dir, name), "utf8"));
  }
  return schemas;
}

/**
 * Describe every difference from `frozen` to `current`, one line per changed value, each at
 * a JSON Pointer into the snapshot file: `~ path: old -> new`, `- path: old` (gone),
 * `+ path: new` (added).
 */
export function diffSurface(frozen: Surface, current: Surface): string[] {
  const names = [...new Set([...Object.keys(frozen.schemas), ...Object.keys(current.schemas)])];
  return [
    ...diffJson(frozen.api, current.api, `${API_SNAPSHOT}#`),
    ...names.sort().flatMap((name) =>
      diffJson(frozen.schemas[name], current.schemas[name], `${SCHEMA_DIR}/${name}.json#`)
    ),
  ];
}

/** Structural diff of two JSON values (`undefined` = absent), one line per difference. */
export function diffJson(before: unknown, after: unknown, path: string): string[] {
  if (before === undefined && after === undefined) return [];
  if (before === undefined) return [`+ ${path}: ${show(after)}`];
  if (after === undefined) return [`- ${path}: ${show(before)}`];
  if (isObject(before) && isObject(after) && Array.isArray(before) === Array.isArray(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((key) =>
      diffJson(
        before[key],
        after[key],
        `${path}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`,
      )
    );
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [`~ ${path}: ${show(before)} -> ${show(after)}`];
}

async function collectApi(
  root: string,
  entries: string[],
): Promise<Record<string, Record<string, unknown>>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", ...entries],
    cwd: root,
    env: { NO_COLOR: "1" },
  }).output();
  if (!output.success) {
    throw new Error(`deno doc --json failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  const doc = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    nodes: Record<string, { symbols?: { name: string; declarations: unknown[] }[] }>;
  };
  const api: Record<string, Record<string, unknown>> = {};
  for (const entry of entries) {
    const symbols = doc.nodes[pathToFileURL(join(root, entry)).href]?.symbols ?? [];
    api[entry] = Object.fromEntries(
      symbols.map((s) => [s.name, strip(s.declarations, root)] as const)
        .sort(([a], [b]) => a < b ? -1 : 1),
    );
  }
  return api;
}

async function collectSchemas(root: string, entries: string[]): Promise<Record<string, unknown>> {
  const schemas: Record<string, unknown> = {};
  for (const entry of entries) {
    const module = await import(pathToFileURL(join(root, entry)).href);
    for (const [name, value] of Object.entries(module)) {
      if (!(value instanceof z.core.$ZodType) || name in schemas) continue;
      try {
        const { $schema, ...schema } = z.toJSONSchema(value, { io: "input" });
        schemas[name] = { $schema, title: name, ...schema };
      } catch (error) {
        throw new Error(`Contract "${name}" of ${entry} has no JSON Schema`, { cause: error });
      }
    }
  }
  return Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a < b ? -1 : 1));
}

/** Keys of `deno doc --json` that are not API: `async` is an implementation detail. */
const NOT_API = new Set(["location", "jsDoc", "isAsync"]);
// deno-lint-ignore no-control-regex
const ANSI_COLOUR = /\x1b\[[0-9;]*m/g;

/**
 * Drop what is not API: source locations, JSDoc (prose, examples, tags) and `async`. The target of a
 * re-export (`kind: "reference"`) keeps only its root-relative file name.
 */
function strip(value: unknown, root: string): unknown {
  if (Array.isArray(value)) return value.map((item) => strip(item, root));
  // deno doc colours some type texts (`${string}`) unless NO_COLOR is set: never keep colours.
  if (typeof value === "string") return value.replace(ANSI_COLOUR, "");
  if (!isObject(value)) return value;
  if (typeof value.filename === "string" && "line" in value) {
    return relative(root, fileURLToPath(value.filename));
  }
  return Object.fromEntries(
    Object.entries(value).filter(([key]) => !NOT_API.has(key))
      .map(([key, item]) => [key, strip(item, root)]),
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? "undefined";
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
