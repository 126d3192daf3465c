import assert from "node:assert/strict";
import postgres from "postgres";
import { startEmbeddedPostgres } from "../../src/db.ts";
import { TenantAdminRequired, TenantConflict, ValidationError } from "../../src/errors.ts";
import { MemoryKernelEmitter } from "../../src/memory_kernel_emitter.ts";
import { migrate } from "../../src/migrate.ts";
import { PostgresKernelEmitter } from "../../src/postgres_kernel_emitter.ts";
import type { RunCardV1 } from "../../src/run_card.ts";
import { registerTenant } from "../../src/tenants.ts";
import { fullLifecycle, lifecycleSuite } from "../_lifecycle_suite.ts";
import { llmCall, newTraceId } from "../_helpers.ts";
import { isEmbedded, openTestDatabase } from "../_pg.ts";
import { emitterFor, serverTest } from "./_emitter_db.ts";

const ADMIN = { role: "plm_tenant_admin" };
/**
 * How `db`'s tests register tenants: as `plm_tenant_admin`; on Citus, which connects to the
 * workers as the current role and so cannot switch to a NOLOGIN one, as the superuser.
 */
const adminOf = (db: { citus: boolean }) => db.citus ? {} : ADMIN;

Deno.test("PostgresKernelEmitter passes the lifecycle suite", async (t) => {
  await using db = await openTestDatabase();
  await lifecycleSuite(t, async (tenantId, registered) => {
    if (registered) {
      await registerTenant(db.sql, { id: tenantId, name: "acme" }, adminOf(db));
    }
    return { emitter: emitterFor(db, tenantId), close: () => Promise.resolve() };
  }, { skipConcurrency: isEmbedded() });
});

Deno.test("registerTenant() behaviour", async (t) => {
  await using db = await openTestDatabase();

  await t.step("idempotent; another name for the id is a TenantConflict", async () => {
    const tenant = { id: crypto.randomUUID().toUpperCase(), name: "acme" };
    const admin = adminOf(db);
    assert.deepEqual(await registerTenant(db.sql, tenant, admin), { created: true });
    assert.deepEqual(await registerTenant(db.sql, tenant, admin), { created: false });
    await assert.rejects(
      registerTenant(db.sql, { ...tenant, name: "other" }, admin),
      (error) => error instanceof TenantConflict && error.code === "TENANT_CONFLICT",
    );
    const [row] = await db.sql`select name from tenants where id = ${tenant.id.toLowerCase()}`;
    assert.equal(row.name, "acme");
  });

  await t.step("refuses a bad id or name before any SQL", async () => {
    for (const tenant of [{ id: "tenant-1", name: "a" }, { id: crypto.randomUUID(), name: "" }]) {
      await assert.rejects(registerTenant(db.sql, tenant, ADMIN), ValidationError);
    }
  });

  await t.step("the writer role can never register a tenant", async () => {
    const id = crypto.randomUUID();
    const writer = (sql: postgres.Sql, options = {}) =>
      registerTenant(sql, { id, name: "intruder" }, options);
    await assert.rejects(
      db.embedded ? writer(db.sql, { role: "plm_kernel_writer" }) : writer(db.writer),
      (error) => error instanceof TenantAdminRequired && error.code === "TENANT_ADMIN_REQUIRED",
    );
    // Not even inside its own tenant's context, where row level security would let the row by.
    await assert.rejects(
      db.sql.begin(async (tx) => {
        await tx`select set_config('app.tenant_id', ${id}, true),
                        set_config('role', 'plm_kernel_writer', true)`;
        await tx`insert into public.tenants (id, name) values (${id}, 'intruder')`;
      }),
      { code: "42501" },
    );
    const [{ n }] = await db.sql`select count(*)::int as n from tenants where id = ${id}`;
    assert.equal(n, 0);
  });

  await t.step("plm_tenant_admin may touch tenants only", async () => {
    for (const table of ["runs", "telemetry_events", "llm_calls", "artifacts"]) {
      await assert.rejects(
        db.sql.begin(async (tx) => {
          await tx`select set_config('role', 'plm_tenant_admin', true)`;
          await tx`select 1 from ${tx(table)} limit 1`;
        }),
        { code: "42501" },
      );
    }
    const [role] = await db.sql`
      select rolcanlogin, rolsuper, rolbypassrls, rolcreaterole from pg_roles
      where rolname = 'plm_tenant_admin'`;
    assert.deepEqual({ ...role }, {
      rolcanlogin: false,
      rolsuper: false,
      rolbypassrls: false,
      rolcreaterole: false,
    });
  });
});

/** What differs between stores for the same lifecycle: ids and times. */
function comparable(card: RunCardV1): Partial<RunCardV1> {
  const {
    tenant_id: _tenant,
    run_id: _run,
    started_at: _started,
    ended_at,
    first_telemetry_at,
    last_telemetry_at,
    last_governance_event_at,
    ...rest
  } = card;
  assert.ok(ended_at && first_telemetry_at && last_telemetry_at && last_governance_event_at);
  return rest;
}

Deno.test("the full lifecycle gives the same card on memory, PGlite and a server, and the card is mcrc_v1_view's row", async () => {
  const traceId = newTraceId();
  const cards: RunCardV1[] = [];
  const memoryTenant = crypto.randomUUID();
  cards.push(
    await fullLifecycle(new MemoryKernelEmitter({ tenantId: memoryTenant }), memoryTenant, traceId),
  );

  const onDatabase = async (
    sql: postgres.Sql,
    writer: postgres.Sql,
    role?: string,
    citus = false,
  ) => {
    const tenantId = crypto.randomUUID();
    await registerTenant(sql, { id: tenantId, name: "acme" }, adminOf({ citus }));
    const emitter = new PostgresKernelEmitter(writer, { tenantId, ...(role ? { role } : {}) });
    const card = await fullLifecycle(emitter, tenantId, traceId);
    const [view] = await sql`select * from mcrc_v1_view where tenant_id = ${tenantId}`;
    assert.equal(card.run_id, String(view.run_id));
    assert.equal(card.tenant_id, view.tenant_id);
    for (
      const column of [
        "started_at",
        "ended_at",
        "first_telemetry_at",
        "last_governance_event_at",
      ] as const
    ) {
      assert.equal(Date.parse(card[column] as string), (view[column] as Date).getTime(), column);
    }
    assert.equal(card.llm_cost_eur, view.llm_cost_eur);
    assert.equal(card.artifact_bytes, Number(view.artifact_bytes));
    assert.deepEqual(card.llm_models, view.llm_models);
    assert.equal(card.quality_level, view.quality_level);
    assert.equal(
      card.connector_cost_unavailable_count,
      Number(view.connector_cost_unavailable_count),
    );
    cards.push(card);
  };

  await using pglite = await startEmbeddedPostgres();
  await migrate(pglite.sql);
  await onDatabase(pglite.sql, pglite.sql, "plm_kernel_writer");
  if (!isEmbedded()) {
    await using db = await openTestDatabase();
    await onDatabase(db.sql, db.writer, undefined, db.citus);
  }
  assert.equal(cards.length, isEmbedded() ? 2 : 3);
  for (const card of cards.slice(1)) assert.deepEqual(comparable(card), comparable(cards[0]));
  assert.equal(cards[0].llm_cost_eur, "0.0125000001");
  assert.equal(cards[0].connector_cost_unavailable_count, 1);
  assert.equal(cards[0].artifact_count, 1);
});

serverTest(
  "settleCost() finds the call by its primary key, not by scanning the tenant's calls (PG_DSN only: auto_explain)",
  async (db, tenantId, t) => {
    // On Citus the role path needs a role that can log in on the workers; the plan is the same.
    await t.step({
      name: "the plan of its lookup",
      ignore: db.citus,
      fn: () => settlePlan(db, tenantId),
    });
  },
);

/** settleCost() through an emitter whose connection explains every statement to the client. */
async function settlePlan(db: { dsn: string }, tenantId: string): Promise<void> {
  const plans: string[] = [];
  const sql = postgres(db.dsn, { max: 1, onnotice: (notice) => plans.push(notice.message) });
  try {
    await sql`load 'auto_explain'`;
    // Small tables are read whole whatever their keys: keep the planner on an index.
    await sql.unsafe(`set enable_seqscan = off; set auto_explain.log_min_duration = 0;
      set auto_explain.log_level = notice; set auto_explain.log_nested_statements = on`);
    const emitter = new PostgresKernelEmitter(sql, { tenantId, role: "plm_kernel_writer" });
    const call = llmCall(tenantId, { call: { cost_status: "pending" } });
    await emitter.recordLlmCall(call);
    plans.length = 0;
    await emitter.settleCost({
      table: "llm_calls",
      idempotency_key: call.idempotency_key,
      cost_status: "calculated",
      cost_eur: 0.25,
    });
    const lookups = plans.filter((plan) => /on llm_calls/.test(plan));
    assert.ok(lookups.length >= 2, plans.join("\n---\n"));
    for (const plan of lookups) {
      assert.match(plan, /Index Cond: \(.*span_id = .*event_type = /s, plan);
    }
  } finally {
    await sql.end();
  }
}
