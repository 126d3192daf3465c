/**
 * `deno task check`, end to end: a minimal package that keeps every rule passes, and each
 * violation (one per rule) makes it fail with that rule's message. The task string, the fmt and
 * lint settings and the import map are this package's own (read from deno.json), so a rule
 * dropped from the task makes a test here fail.
 */
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const FIXTURES = join(ROOT, "tests/fixtures/conformance");
/** The tools the check task runs (and what they import). */
const CHECK_TOOLS = [
  "lint_plugin.ts",
  "_boundary.ts",
  "_module_graph.ts",
  "check_boundaries.ts",
  "check_cycles.ts",
];

/** Violation fixture (tests/fixtures/conformance/violations/<name>) → what the output says. */
const VIOLATIONS: Record<string, RegExp> = {
  unformatted: /Found 1 not formatted file/,
  driver_import: /error\[plm\/sql-boundary\]: "src\/pricing\.ts" imports the PostgreSQL driver/,
  type_error: /TS2322 \[ERROR\]: Type 'number' is not assignable to type 'string'/,
  undocumented_export: /error\[missing-jsdoc\]/,
  insert_outside_boundary: /error\[insert\]: src\/pricing\.ts:14 writes to "pricing_snapshots"/,
  entry_reaches_driver: /error\[graph\]: mod\.ts reaches the PostgreSQL driver/,
  import_cycle: /error\[cycle\]: import cycle: src\/_pricing_round\.ts -> src\/pricing\.ts -> /,
  slow_type: /error\[no-slow-types\]/,
  missing_license: /error\[missing-license\]/,
};

Deno.test("deno task check passes a package that keeps every rule", async () => {
  const { code, output } = await checkPackage();
  assert.equal(code, 0, output);
  assert.match(output, /SQL boundary holds/);
  assert.match(output, /No import cycle/);
  assert.match(output, /Dry run complete/);
});

Deno.test("deno task check fails on each violation", async (t) => {
  for (const [name, expected] of Object.entries(VIOLATIONS)) {
    await t.step(name, async () => {
      const { code, output } = await checkPackage(name);
      assert.notEqual(code, 0, output);
      assert.match(output, expected);
    });
  }
});

/** Copy the clean package (plus a violation overlay) to a temp dir and run the check task. */
async function checkPackage(violation?: string): Promise<{ code: number; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), "plm-check-"));
  try {
    await cp(join(FIXTURES, "package"), dir, { recursive: true });
    for (const tool of CHECK_TOOLS) await cp(join(ROOT, "tools", tool), join(dir, "tools", tool));
    let patch = {};
    if (violation !== undefined) {
      const overlay = join(FIXTURES, "violations", violation);
      await cp(overlay, dir, { recursive: true, filter: (src) => !src.endsWith(".patch.json") });
      patch = await readJson(join(overlay, "deno.patch.json")).catch(() => ({}));
    }
    await writeFile(join(dir, "deno.json"), await fixtureConfig(dir, patch));
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["task", "check"],
      cwd: dir,
      env: { NO_COLOR: "1" },
    }).output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { code: result.code, output: decode(result.stdout) + decode(result.stderr) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The fixture's deno.json with this package's import map, fmt, lint and check task. npm
 * packages come from Deno's global cache (`nodeModulesDir: "none"`), so the shared
 * node_modules is never touched. `patch` sets fields; a `null` value removes one.
 */
async function fixtureConfig(dir: string, patch: Record<string, unknown>): Promise<string> {
  const main = await readJson(join(ROOT, "deno.json"));
  const config: Record<string, unknown> = {
    ...await readJson(join(dir, "deno.json")),
    imports: main.imports,
    fmt: main.fmt,
    lint: main.lint,
    tasks: { check: (main.tasks as Record<string, string>).check },
    nodeModulesDir: "none",
  };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete config[key];
    else config[key] = value;
  }
  return `${JSON.stringify(config, null, 2)}\n`;
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path, "utf8"));
}
