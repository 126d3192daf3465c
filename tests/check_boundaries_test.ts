import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { checkBoundaries, checkGraph, checkInserts } from "../tools/check_boundaries.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures/conformance/boundaries/", import.meta.url));
const VIOLATING = `${FIXTURES}violating`;
const CLEAN = `${FIXTURES}clean`;

Deno.test("checkInserts() finds event-table inserts in any case, spacing and quoting", async () => {
  const found = (await checkInserts(VIOLATING)).map((p) => p.message.split(" outside")[0]).sort();
  assert.deepEqual(found, [
    'sql/seed.sql:1 writes to "llm_calls"',
    'src/_db_embedded.ts:4 writes to "llm_calls"',
    'src/pricing.ts:2 writes to "llm_calls"',
    'src/pricing.ts:3 writes to "telemetry_events"',
    'src/pricing.ts:6 writes to "connector_calls"',
    'src/pricing.ts:7 writes to "pricing_snapshots"',
  ]);
});

Deno.test("checkInserts() allows the boundary files, migrations, tests, bench and tools", async () => {
  assert.deepEqual(await checkInserts(CLEAN), []);
});

Deno.test("checkGraph() reports the import chain to a forbidden driver", async (t) => {
  await t.step("mod.ts must load no driver and no OpenTelemetry", async () => {
    const [problem, otel, ...rest] = await checkGraph(VIOLATING, "mod.ts");
    assert.deepEqual(rest, []);
    assert.equal(problem.rule, "graph");
    assert.match(problem.message, /mod\.ts -> src\/db\.ts -> npm:postgres@3\.4\.9$/);
    assert.match(otel.message, /^mod\.ts reaches OpenTelemetry/);
    assert.match(otel.message, /mod\.ts -> src\/trace_context\.ts -> npm:@opentelemetry\/api@/);
  });
  await t.step("otel.ts must not load PostgreSQL", async () => {
    const [problem, ...rest] = await checkGraph(VIOLATING, "otel.ts");
    assert.deepEqual(rest, []);
    assert.match(problem.message, /otel\.ts -> src\/db\.ts -> npm:postgres@/);
  });
  await t.step("postgres.ts must not load the S3 SDK", async () => {
    const [problem] = await checkGraph(VIOLATING, "postgres.ts");
    assert.match(problem.message, /-> src\/object_store_backend\.ts -> npm:@aws-sdk\/client-s3@/);
  });
  await t.step("migrate.ts must not load the S3 SDK", async () => {
    const [problem] = await checkGraph(VIOLATING, "migrate.ts");
    assert.match(problem.message, /migrate\.ts -> src\/object_store_backend\.ts -> npm:@aws-sdk/);
  });
  await t.step("s3.ts must not load PostgreSQL, even through a dynamic import", async () => {
    const [problem] = await checkGraph(VIOLATING, "s3.ts");
    assert.match(problem.message, /s3\.ts -> src\/_db_embedded\.ts -> npm:@electric-sql\/pglite@/);
  });
});

Deno.test("checkBoundaries() passes a package that keeps the boundary", async () => {
  assert.deepEqual(await checkBoundaries(CLEAN), []);
});

Deno.test("checkBoundaries() passes on this package", async () => {
  const root = fileURLToPath(new URL("..", import.meta.url));
  assert.deepEqual(await checkBoundaries(root), []);
});

Deno.test("check_boundaries.ts exits 1 and prints every problem", async () => {
  const script = fileURLToPath(new URL("../tools/check_boundaries.ts", import.meta.url));
  const run = (root: string) =>
    new Deno.Command(Deno.execPath(), { args: ["run", "-A", script, root] }).output();
  const failing = await run(VIOLATING);
  assert.equal(failing.code, 1);
  assert.equal(new TextDecoder().decode(failing.stderr).match(/^error\[/gm)?.length, 12);
  assert.equal((await run(CLEAN)).code, 0);
});
