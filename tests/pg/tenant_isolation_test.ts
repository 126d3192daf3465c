import assert from "node:assert/strict";
import type postgres from "postgres";
import { setOnShards } from "../_citus.ts";
import { openTestDatabase, type TestDatabase } from "../_pg.ts";
import { sampleRow, seedTenant } from "./_seed.ts";

const TABLES = [
  "tenants",
  "runs",
  "telemetry_events",
  "llm_calls",
  "connector_calls",
  "artifacts",
  "pricing_snapshots",
];
const READABLE = [...TABLES, "mcrc_v1_view"];

/** What an attack may end in. */
type Outcome =
  | "nothing" // runs without error and sees no row at all
  | "own" // runs without error and sees rows, all of the tenant the GUC names
  | "refused"; // fails with an error

interface Attack {
  name: string;
  /** `app.tenant_id` for the transaction; `undefined` leaves it unset. */
  guc?: string;
  outcome: Outcome;
  /** SQLSTATE the refusal must carry. */
  code?: string;
  /** Needs a login role that is not a superuser (PGlite has none). */
  serverOnly?: boolean;
  /** Not run (see {@link ON_CITUS}). */
  skip?: boolean;
  run: (tx: postgres.TransactionSql) => Promise<readonly unknown[]>;
}

Deno.test("row level security isolates tenants against attack queries", async (t) => {
  await using db = await openTestDatabase();
  const [a, b, c] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
  const trace = "trace-shared"; // both tenants use the same trace id string
  await seedTenant(db.sql, a, { traceId: trace });
  const victim = await seedTenant(db.sql, b, { traceId: trace });
  await db.sql`insert into tenants (id, name) values (${c}, 'empty tenant')`;
  await db.sql`analyze`; // fill pg_stats, which must not leak values either

  const fingerprint = async () =>
    await Promise.all(TABLES.map(async (table) => {
      const [row] = await db.sql`
        select count(*) as n, md5(string_agg(x::text, '|' order by x::text)) as h
        from ${db.sql(table)} x`;
      return `${table}:${row.n}:${row.h}`;
    }));
  const before = await fingerprint();
  const malformed = [
    "not-a-uuid",
    `${b}'`,
    ` ${b}`,
    `${b} `,
    `${b}\n`,
    `{${b}}`,
    b.replaceAll("-", ""),
    `${a},${b}`,
    "' or 1=1 --",
    "%",
    "null",
    `${b}${b}`,
  ];
  const insertEvent = (tx: postgres.TransactionSql, tenant: string) =>
    tx`insert into telemetry_events (tenant_id, trace_id, span_id, event_kind, event_type,
         capability, idempotency_key, content_hash)
       values (${tenant}, 'x', 'x', 'telemetry', 'x', 'llm.call', 'x', 'x') returning tenant_id`;
  const copyOut = async (tx: postgres.TransactionSql, query: string) => {
    const lines: string[] = [];
    for await (const chunk of await tx.unsafe(query).readable()) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
    }
    return lines.map((line) => line.split("\t")[0]); // tenant_id is every table's first column
  };

  const attacks: Attack[] = [
    ...READABLE.map((table): Attack => ({
      name: `unset GUC: select * from ${table}`,
      outcome: "nothing",
      run: (tx) => tx`select * from ${tx(table)}`,
    })),
    ...READABLE.map((table): Attack => ({
      name: `empty GUC: select * from ${table}`,
      guc: "",
      outcome: "nothing",
      run: (tx) => tx`select * from ${tx(table)}`,
    })),
    ...malformed.map((guc): Attack => ({
      name: `malformed GUC ${JSON.stringify(guc)}: select * from telemetry_events`,
      guc,
      outcome: "nothing",
      run: (tx) => tx`select * from telemetry_events`,
    })),
    ...READABLE.map((table): Attack => ({
      name: `a tenant without rows: select * from ${table}`,
      guc: c,
      outcome: table === "tenants" ? "own" : "nothing",
      run: (tx) => tx`select * from ${tx(table)}`,
    })),
    ...READABLE.map((table): Attack => ({
      name: `tenant A: select * from ${table} where tenant = B`,
      guc: a,
      outcome: "nothing",
      run: (tx) =>
        tx`select * from ${tx(table)} where ${tx(table === "tenants" ? "id" : "tenant_id")} = ${b}`,
    })),
    ...READABLE.map((table): Attack => ({
      name: `tenant A: select * from ${table}`,
      guc: a,
      outcome: "own",
      run: (tx) => tx`select * from ${tx(table)}`,
    })),
    {
      name: "tenant A: join runs to events on the shared trace id",
      guc: a,
      outcome: "own",
      run: (tx) =>
        tx`select e.* from runs r join telemetry_events e on e.trace_id = r.trace_id
           where r.trace_id = ${trace}`,
    },
    {
      name: "tenant A: the view by B's trace id and tenant",
      guc: a,
      outcome: "own",
      run: (tx) => tx`select * from mcrc_v1_view where trace_id = ${trace} or tenant_id = ${b}`,
    },
    {
      name: "tenant A: where ... or true",
      guc: a,
      outcome: "own",
      run: (tx) => tx`select * from llm_calls where tenant_id = ${b} or true`,
    },
    {
      name: "tenant A: B's row by id",
      guc: a,
      outcome: "nothing",
      run: (tx) =>
        tx`select * from llm_calls where tenant_id = ${b} and id = ${victim.llmCalls[0]}`,
    },
    {
      name: "RESET app.tenant_id",
      guc: a,
      outcome: "nothing",
      run: async (tx) => (await tx`reset app.tenant_id`, await tx`select * from runs`),
    },
    {
      name: "SET LOCAL app.tenant_id TO DEFAULT",
      guc: a,
      outcome: "nothing",
      run: async (
        tx,
      ) => (await tx`set local app.tenant_id to default`, await tx`select * from runs`),
    },
    {
      name: "RESET ALL",
      guc: a,
      outcome: "nothing",
      serverOnly: true,
      run: async (tx) => (await tx`reset all`, await tx`select * from runs`),
    },
    {
      name: "RESET ROLE (back to the login role)",
      guc: a,
      outcome: "own",
      serverOnly: true,
      run: async (tx) => (await tx`reset role`, await tx`select * from telemetry_events`),
    },
    {
      name: "SET ROLE postgres",
      guc: a,
      outcome: "refused",
      code: "42501",
      serverOnly: true,
      run: async (tx) => (await tx`set role postgres`, await tx`select * from runs`),
    },
    {
      name: "SET LOCAL ROLE plm_migrator (BYPASSRLS)",
      guc: a,
      outcome: "refused",
      code: "42501",
      serverOnly: true,
      run: async (tx) => (await tx`set local role plm_migrator`, await tx`select * from runs`),
    },
    {
      name: "set_config('role', 'plm_migrator')",
      guc: a,
      outcome: "refused",
      code: "42501",
      serverOnly: true,
      run: async (tx) => (
        await tx`select set_config('role', 'plm_migrator', true)`, await tx`select * from runs`
      ),
    },
    {
      name: "SET SESSION AUTHORIZATION postgres",
      guc: a,
      outcome: "refused",
      code: "42501",
      serverOnly: true,
      run: async (tx) => (
        await tx`set session authorization postgres`, await tx`select * from runs`
      ),
    },
    {
      name: "SET LOCAL row_security = off",
      guc: a,
      outcome: "refused",
      code: "42501",
      run: async (tx) => (await tx`set local row_security = off`, await tx`select * from runs`),
    },
    {
      name: "SET LOCAL session_replication_role = replica",
      guc: a,
      outcome: "refused",
      code: "42501",
      run: (tx) => tx`set local session_replication_role = replica`,
    },
    ...TABLES.filter((table) => table !== "tenants").map((table): Attack => ({
      name: `tenant A: insert into ${table} with B's tenant_id`,
      guc: a,
      outcome: "refused",
      code: "42501",
      run: (tx) => insertInto(tx, table, b, victim.snapshot),
    })),
    {
      name: "tenant A: insert a tenant",
      guc: a,
      outcome: "refused",
      code: "42501",
      run: (tx) => tx`insert into tenants (id, name) values (${crypto.randomUUID()}, 'x')`,
    },
    {
      name: "unset GUC: insert an event for A",
      outcome: "refused",
      code: "42501",
      run: (tx) => insertEvent(tx, a),
    },
    {
      name: "empty GUC: insert an event for A",
      guc: "",
      outcome: "refused",
      code: "42501",
      run: (tx) => insertEvent(tx, a),
    },
    {
      name: "malformed GUC: insert an event for B",
      guc: `${b} `,
      outcome: "refused",
      code: "42501",
      run: (tx) => insertEvent(tx, b),
    },
    {
      name: "tenant A: insert an LLM call pointing at B's pricing snapshot",
      guc: a,
      outcome: "refused",
      code: "23503",
      run: (tx) =>
        tx`insert into llm_calls (tenant_id, trace_id, span_id, event_type, model,
             prompt_tokens, completion_tokens, pricing_version, cost_status, idempotency_key,
             content_hash, pricing_snapshot_id)
           values (${a}, 'x', 'x', 'llm_call', 'm', 1, 1, 'litellm-live', 'pending', 'x', 'x',
             ${victim.snapshot}) returning tenant_id`,
    },
    ...["runs", "llm_calls", "connector_calls"].map((table): Attack => ({
      name: `tenant A: move its ${table} rows to B`,
      guc: a,
      outcome: "refused",
      code: "42501",
      run: (tx) => tx`update ${tx(table)} set tenant_id = ${b} returning tenant_id`,
    })),
    {
      name: "tenant A: settle B's LLM costs",
      guc: a,
      outcome: "nothing",
      run: (tx) =>
        tx`update llm_calls set cost_status = 'calculated', cost_eur = 1
           where tenant_id = ${b} returning tenant_id`,
    },
    {
      name: "tenant A: release B's run",
      guc: a,
      outcome: "nothing",
      run: (tx) =>
        tx`update runs set quality_level = 'released' where tenant_id = ${b} returning tenant_id`,
    },
    {
      name: "tenant A: attach B's pricing snapshot to its own call",
      guc: a,
      outcome: "refused",
      code: "23503",
      run: (tx) =>
        tx`update connector_calls set cost_status = 'calculated', cost_eur = 1,
             pricing_snapshot_id = ${victim.snapshot} returning tenant_id`,
    },
    ...["telemetry_events", "runs"].map((table): Attack => ({
      name: `tenant A: delete B's ${table}`,
      guc: a,
      outcome: "refused",
      code: "42501",
      run: (tx) => tx`delete from ${tx(table)} where tenant_id = ${b} returning tenant_id`,
    })),
    {
      name: "tenant A: truncate llm_calls",
      guc: a,
      outcome: "refused",
      code: "42501",
      run: (tx) => tx`truncate llm_calls`,
    },
    {
      name: "tenant A: COPY telemetry_events TO STDOUT",
      guc: a,
      outcome: "own",
      run: (tx) => copyOut(tx, "copy telemetry_events to stdout"),
    },
    {
      name: "tenant A: COPY (select B's calls) TO STDOUT",
      guc: a,
      outcome: "nothing",
      run: (tx) => copyOut(tx, `copy (select * from llm_calls where tenant_id = '${b}') to stdout`),
    },
    {
      name: "unset GUC: COPY runs TO STDOUT",
      outcome: "nothing",
      run: (tx) => copyOut(tx, "copy runs to stdout"),
    },
    {
      name: "tenant A: COPY telemetry_events FROM STDIN",
      guc: a,
      outcome: "refused",
      code: "0A000",
      run: async (tx) => {
        const stream = await tx`copy telemetry_events from stdin`.writable();
        await new Promise<void>((resolve, reject) => {
          stream.on("error", reject);
          stream.end(`${b}\t1\tx\tx\ttelemetry\tx\tllm.call\t{}\tcopy\th\t2025-01-01\n`, resolve);
        });
        return [];
      },
    },
    {
      name: "tenant A: a temporary view over telemetry_events",
      guc: a,
      outcome: "own",
      run: async (tx) => (
        await tx`create temporary view peek as select * from telemetry_events`,
          await tx`select * from peek`
      ),
    },
    {
      name: "tenant A: shadow plm_current_tenant() in pg_temp",
      guc: a,
      outcome: "own",
      run: async (tx) => (
        await tx.unsafe(`create function pg_temp.plm_current_tenant() returns uuid
                         language sql as $$ select '${b}'::uuid $$`),
          await tx`select * from llm_calls`
      ),
    },
    // 0013: the writer cannot grow its role, nor plant objects that later statements resolve.
    ...[
      "alter role plm_kernel_writer bypassrls",
      "alter role plm_kernel_writer login",
      "grant pg_read_all_data to plm_kernel_writer",
      "grant plm_migrator to plm_kernel_writer",
      "create table public.telemetry_events_shadow (tenant_id uuid)",
      "create function public.plm_tenant() returns uuid language sql as $$ select null::uuid $$",
      "create or replace function public.plm_current_tenant() returns uuid " +
      "language sql as $$ select null::uuid $$",
      "alter function plm_current_tenant() reset search_path",
      "select setval(pg_get_serial_sequence('telemetry_events', 'id'), 1)",
    ].map((statement): Attack => ({
      name: `tenant A: ${statement.split(" (")[0].split(" returns")[0]}`,
      guc: a,
      outcome: "refused",
      code: "42501",
      run: (tx) => tx.unsafe(statement),
    })),
    {
      name: "tenant A: disable row level security",
      guc: a,
      outcome: "refused",
      code: "42501",
      run: (tx) => tx`alter table runs disable row level security`,
    },
    {
      name: "tenant A: drop the policy",
      guc: a,
      outcome: "refused",
      code: "42501",
      run: (tx) => tx`drop policy llm_calls_tenant_isolation on llm_calls`,
    },
    {
      name: "tenant A: read sampled values in pg_stats",
      guc: a,
      outcome: "nothing",
      run: (tx) =>
        tx`select most_common_vals::text from pg_stats
           where tablename in ('telemetry_events', 'llm_calls')`,
    },
  ];

  let ran = 0;
  for (const listed of attacks) {
    const attack = { ...listed, ...(db.citus ? ON_CITUS[listed.name] : undefined) };
    await t.step({
      name: attack.name,
      // Some need a non-superuser login, which PGlite does not have; Citus: see ON_CITUS.
      ignore: (attack.serverOnly && db.embedded) || attack.skip,
      async fn() {
        const error = await runAttack(db, attack).then(
          (rows) => checkRows(attack, rows),
          (e) => e,
        );
        if (attack.outcome === "refused") {
          assert.ok(error, "the attack was not refused");
          if (attack.code) assert.equal(error.code, attack.code, error.message);
        } else {
          assert.equal(error, undefined, `the attack raised ${error?.code}: ${error?.message}`);
        }
        assert.deepEqual(await fingerprint(), before, "the attack wrote something");
        ran++;
      },
    });
  }
  console.log(
    `tenant isolation: ${ran} attack queries ran, each saw 0 foreign rows and wrote nothing`,
  );
  assert.ok(ran >= 50, `only ${ran} attacks ran`);
});

/**
 * What Citus does differently with some attacks (isolation holds all the same: each step still
 * checks that nothing foreign was seen and nothing was written). By attack name.
 */
const ON_CITUS: Record<string, Partial<Attack>> = {
  // "Distributed queries with outer joins and pseudoconstant quals are not supported in PG15".
  "tenant A: select * from mcrc_v1_view where tenant = B": { outcome: "refused", code: "XX000" },
  // A join that is not on the distribution column needs repartitioning, which Citus refuses.
  "tenant A: join runs to events on the shared trace id": { outcome: "refused", code: "XX000" },
  // The distribution column cannot change.
  ...Object.fromEntries(
    ["runs", "llm_calls", "connector_calls"].map((table) => [
      `tenant A: move its ${table} rows to B`,
      { code: "0A000" },
    ]),
  ),
  // COPY TO of a distributed table reads the shards on connections without the tenant.
  "tenant A: COPY telemetry_events TO STDOUT": { outcome: "nothing" },
  // Citus accepts the COPY and fails it later; postgres.js then waits forever for the end.
  "tenant A: COPY telemetry_events FROM STDIN": { skip: true },
};

/** Run one attack in its own transaction as the writer; resolves with what it saw. */
async function runAttack(db: TestDatabase, attack: Attack) {
  return await db.writer.begin(async (tx) => {
    // PGlite logs everyone in as the superuser: take the writer role as tenantScoped does.
    if (db.embedded) await tx`set local role plm_kernel_writer`;
    if (attack.guc !== undefined) await tx`select set_config('app.tenant_id', ${attack.guc}, true)`;
    if (attack.guc !== undefined && db.citus) await setOnShards(tx, attack.guc);
    return await attack.run(tx);
  });
}

/**
 * Returns `undefined` when what the attack saw fits its outcome (every row belongs to the
 * tenant the GUC names, none when it names none), else throws.
 */
function checkRows(attack: Attack, rows: readonly unknown[]): undefined {
  if (attack.outcome === "refused") return undefined;
  if (attack.outcome === "nothing") assert.equal(rows.length, 0, "rows were visible");
  else assert.ok(rows.length > 0, "the tenant's own rows were not visible");
  for (const row of rows) {
    const tenant = typeof row === "string"
      ? row
      : (row as Record<string, unknown>).tenant_id ?? (row as Record<string, unknown>).id;
    assert.equal(tenant, attack.guc, "a foreign row was visible");
  }
  return undefined;
}

/** An insert of one row into `table` for `tenant`, returning the row's tenant_id. */
function insertInto(tx: postgres.TransactionSql, table: string, tenant: string, snapshot: string) {
  return tx`insert into ${tx(table)} ${tx({ tenant_id: tenant, ...sampleRow(table, snapshot) })}
            returning tenant_id`;
}
