/**
 * Scale-out on Citus, against the coordinator named by `CITUS_DSN` (a superuser DSN of a
 * database with the `citus` extension and its workers registered, e.g.
 * `postgres://postgres@127.0.0.1:9700/postgres` from `docker compose --profile citus up`).
 * Without `CITUS_DSN` every test here is ignored.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { openTestDatabase, type TestDatabase } from "../_pg.ts";
import { newTraceId, telemetry } from "../_helpers.ts";
import { addTenant, emitterFor } from "./_emitter_db.ts";

const CITUS_DSN = Deno.env.get("CITUS_DSN");
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The PostgreSQL suites that must pass unchanged on a Citus coordinator. */
const SUITES = [
  "tests/pg/postgres_kernel_emitter_test.ts",
  "tests/pg/emitter_batch_test.ts",
  "tests/pg/emitter_concurrency_test.ts",
  "tests/pg/tenant_isolation_test.ts",
  "tests/pg/lifecycle_test.ts",
];

const TENANT_TABLES = [
  "artifacts",
  "connector_calls",
  "llm_calls",
  "pricing_snapshots",
  "runs",
  "telemetry_events",
];

async function placement(db: TestDatabase) {
  return await db.sql<{ table: string; method: string; column: string | null; group: number }[]>`
    select logicalrelid::text as table, partmethod as method, colocationid as group,
        case when partmethod = 'h' then column_to_column_name(logicalrelid, partkey) end as column
      from pg_dist_partition order by 1`;
}

/** Run `statements` as the writer login in one transaction with the tenant set as `value`. */
async function asWriter(db: TestDatabase, value: string, statement: string) {
  return await db.writer.begin(async (tx) => {
    await tx.unsafe("set local citus.propagate_set_commands = local");
    await tx.unsafe(`set local app.tenant_id = '${value}'`);
    return await tx.unsafe(statement);
  });
}

Deno.test({
  name: "migrate() on Citus: tenants a reference table, the tenant tables distributed by " +
    "tenant_id and colocated; down to 0 and up again",
  ignore: !CITUS_DSN,
}, async () => {
  await using db = await openTestDatabase({ server: CITUS_DSN });
  const expected = (rows: Awaited<ReturnType<typeof placement>>) => {
    assert.deepEqual(
      rows.map(({ table, method, column }) => [table, method, column]),
      [
        ...TENANT_TABLES.map((table) => [table, "h", "tenant_id"]),
        ["tenants", "n", null],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    const groups = new Set(rows.filter((row) => row.method === "h").map((row) => row.group));
    assert.equal(groups.size, 1, "one colocation group");
  };
  expected(await placement(db));
  const down = await db.migrate({ to: 0 });
  assert.ok(down.length > 0);
  const [{ n }] = await db.sql`
    select count(*)::int as n from pg_tables where schemaname = 'public' and tablename <> 'migrations'`;
  assert.equal(n, 0, "down to 0 leaves no table");
  await db.migrate();
  expected(await placement(db));
});

Deno.test({
  name: "on Citus: triggers name the logical table, not the shard",
  ignore: !CITUS_DSN,
}, async () => {
  await using db = await openTestDatabase({ server: CITUS_DSN });
  const tenantId = await addTenant(db);
  await emitterFor(db, tenantId).emitTelemetry(telemetry(tenantId));
  await assert.rejects(
    db.sql`update telemetry_events set capability = 'other' where tenant_id = ${tenantId}`,
    (error: Error & { code?: string }) => {
      assert.equal(error.code, "23514");
      assert.equal(error.message, "rows of telemetry_events are append-only");
      return true;
    },
  );
});

Deno.test({
  name: "on Citus: a malformed tenant setting matches no row and refuses writes, as on one " +
    "server (no 22P02)",
  ignore: !CITUS_DSN,
}, async () => {
  await using db = await openTestDatabase({ server: CITUS_DSN });
  const tenantId = await addTenant(db);
  await emitterFor(db, tenantId).emitTelemetry(telemetry(tenantId));
  const [{ n }] = await asWriter(
    db,
    "not-a-uuid",
    `select count(*)::int as n from telemetry_events where tenant_id = '${tenantId}'`,
  );
  assert.equal(n, 0);
  await assert.rejects(
    asWriter(
      db,
      "not-a-uuid",
      `insert into runs (tenant_id, trace_id, actor_kind, actor_id)
        values ('${tenantId}', '${newTraceId()}', 'agent', 'a-1')`,
    ),
    { code: "42501" },
  );
});

Deno.test({
  name: "on Citus: a query of one tenant's table is routed to one shard",
  ignore: !CITUS_DSN,
}, async () => {
  await using db = await openTestDatabase({ server: CITUS_DSN });
  const tenantId = await addTenant(db);
  const plan = (await asWriter(
    db,
    tenantId,
    `explain select * from llm_calls where tenant_id = '${tenantId}'`,
  )).map((row) => row["QUERY PLAN"]).join("\n");
  assert.match(plan, /Task Count: 1\b/);
});

Deno.test({
  name: "the PostgreSQL suites pass against the Citus coordinator",
  ignore: !CITUS_DSN,
}, async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", ...SUITES],
    cwd: ROOT,
    env: { PG_DSN: CITUS_DSN ?? "", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, text.slice(-4000) + new TextDecoder().decode(output.stderr));
  assert.match(text, /\bok \| \d+ passed/);
});
