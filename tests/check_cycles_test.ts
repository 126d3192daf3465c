import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { findCycles } from "../tools/check_cycles.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CYCLES = fileURLToPath(new URL("./fixtures/conformance/cycles/", import.meta.url));
const SCRIPT = fileURLToPath(new URL("../tools/check_cycles.ts", import.meta.url));

Deno.test("findCycles() reports type-only and dynamic-import cycles, one per group", async () => {
  assert.deepEqual(await findCycles(CYCLES), [
    ["src/_pricing_table.ts", "src/pricing.ts", "src/_pricing_table.ts"],
    ["src/_trace_context.ts", "src/trace.ts", "src/_trace_span.ts", "src/_trace_context.ts"],
  ]);
});

Deno.test("findCycles() finds no cycle in this package", async () => {
  assert.deepEqual(await findCycles(ROOT), []);
});

Deno.test("check_cycles.ts exits 1 and prints every cycle", async () => {
  const run = (root: string) =>
    new Deno.Command(Deno.execPath(), { args: ["run", "-A", SCRIPT, root] }).output();
  const failing = await run(CYCLES);
  assert.equal(failing.code, 1);
  assert.equal(new TextDecoder().decode(failing.stderr).match(/^error\[cycle\]: /gm)?.length, 2);
  assert.equal((await run(ROOT)).code, 0);
});
