import assert from "node:assert/strict";
import type postgres from "postgres";
import { EVENT_TABLES } from "../../migrations/0013_hardening.ts";
import { tenantScoped } from "../../src/db.ts";
import { openTestDatabase } from "../_pg.ts";
import { sampleRow, seedTenant } from "./_seed.ts";

const CALL_TABLES = ["llm_calls", "connector_calls"];
const COST_COLUMNS = ["cost_status", "cost_eur", "pricing_snapshot_id", "pricing_version"];

/** Assert that `work` fails with SQLSTATE `code` (and the given constraint, if any). */
async function refused(work: Promise<unknown>, code: string, constraint?: string) {
  const error = await work.then(() => undefined, (e) => e);
  assert.ok(error, `expected SQLSTATE ${code}, the statement succeeded`);
  assert.equal(error.code, code, error.message);
  if (constraint) assert.equal(error.constraint_name, constraint, error.message);
}

async function contentColumns(sql: postgres.Sql, table: string): Promise<string[]> {
  const rows = await sql<{ column_name: string }[]>`
    select column_name from information_schema.columns
    where table_schema = 'public' and table_name = ${table} order by ordinal_position`;
  const cost = CALL_TABLES.includes(table) ? COST_COLUMNS : [];
  return rows.map((r) => r.column_name).filter((c) => !cost.includes(c));
}

Deno.test("event tables are append-only for plm_kernel_writer", async (t) => {
  await using db = await openTestDatabase();
  const tenant = crypto.randomUUID();
  const ids = await seedTenant(db.sql, tenant, { calls: 4 });
  const calls = { llm_calls: ids.llmCalls, connector_calls: ids.connectorCalls };
  const asWriter = (fn: (tx: postgres.TransactionSql) => Promise<unknown>) =>
    tenantScoped(db.writer, tenant, fn);

  await t.step("UPDATE of every content column is refused (writer and owner)", async () => {
    let checked = 0;
    for (const table of EVENT_TABLES) {
      for (const column of await contentColumns(db.sql, table)) {
        const set = (sql: postgres.TransactionSql) =>
          sql`update ${sql(table)} set ${sql(column)} = ${sql(column)}`;
        // An identity column refuses any new value itself (428C9), whoever asks.
        const identity = column === "id" ? "428C9" : undefined;
        await refused(asWriter(set), identity ?? "42501");
        // The owner has every privilege: the trigger of 0006 still refuses.
        await refused(db.sql.begin(set), identity ?? "23514");
        checked++;
      }
    }
    assert.ok(checked >= 45, `only ${checked} columns checked`);
    console.log(`append-only: ${checked} content columns refused to writer and owner`);
  });

  await t.step("DELETE and TRUNCATE are refused on every table", async () => {
    for (const table of [...EVENT_TABLES, "runs", "tenants"]) {
      await refused(asWriter((tx) => tx`delete from ${tx(table)}`), "42501");
      await refused(asWriter((tx) => tx`truncate ${tx(table)}`), "42501");
    }
    const [{ n }] = await db.sql`select count(*)::int as n from llm_calls`;
    assert.equal(n, 4);
  });

  for (const table of ["llm_calls", "connector_calls"] as const) {
    await t.step(`${table}: cost_status moves once from pending`, async () => {
      const [toCalculated, toUnavailable, noOp, withContent] = calls[table];
      // Settling to unavailable also sets pricing_version to unavailable and drops the snapshot.
      const update = (
        id: string,
        status: string,
        cost: string | null,
        { snapshot = status === "unavailable" ? null : ids.snapshot, version = "" } = {},
      ) =>
        asWriter((tx) =>
          tx`update ${tx(table)} set cost_status = ${status}, cost_eur = ${cost},
                pricing_snapshot_id = ${snapshot},
                pricing_version = case when ${status} = 'unavailable' then 'unavailable'
                                       else coalesce(nullif(${version}, ''), pricing_version) end
              where id = ${id} returning id`
        );
      const once = `${table}_cost_status_once`;

      assert.equal((await update(toCalculated, "calculated", "0.0123456789") as []).length, 1);
      await refused(update(toCalculated, "unavailable", null), "23514", once);
      await refused(update(toCalculated, "pending", null), "23514", once);
      await refused(update(toCalculated, "calculated", "9"), "23514", once);

      // 0013: the pricing version changes only to unavailable, with the cost status.
      const settled = `${table}_pricing_version_settled`;
      await refused(update(noOp, "calculated", "1", { version: "unavailable" }), "23514", settled);
      const other = table === "llm_calls" ? "overrides-static" : "litellm-live";
      await refused(update(noOp, "calculated", "1", { version: other }), "23514", settled);
      await refused(
        asWriter((tx) =>
          tx`update ${tx(table)} set cost_status = 'unavailable' where id = ${noOp}`
        ),
        "23514",
        `${table}_pricing_version_status_check`,
      );
      await refused(
        update(noOp, "unavailable", null, { snapshot: ids.snapshot }),
        "23514",
        `${table}_pricing_snapshot_unavailable_check`,
      );
      await refused(
        update(noOp, "unavailable", "1"),
        "23514",
        `${table}_cost_eur_status_check`,
      );

      assert.equal((await update(toUnavailable, "unavailable", null) as []).length, 1);
      await refused(update(toUnavailable, "calculated", "1"), "23514", once);

      await refused(update(noOp, "pending", null), "23514", once);
      await refused(update(noOp, "calculated", null), "23514", `${table}_cost_eur_status_check`);
      await refused(
        db.sql`update ${db.sql(table)} set cost_status = 'calculated', cost_eur = 1,
                 span_id = 'moved' where id = ${withContent}`,
        "23514",
        `${table}_append_only`,
      );

      const rows = await db.sql`
        select cost_status, cost_eur, pricing_snapshot_id, pricing_version from ${db.sql(table)}
        where id in ${db.sql([toCalculated, toUnavailable, noOp, withContent])} order by id`;
      const version = table === "llm_calls" ? "litellm-live" : "overrides-static";
      assert.deepEqual(
        rows.map((r) => [r.cost_status, r.cost_eur, r.pricing_snapshot_id, r.pricing_version]),
        [
          ["calculated", "0.0123456789", ids.snapshot, version],
          ["unavailable", null, null, "unavailable"],
          ["pending", null, null, version],
          ["pending", null, null, version],
        ],
      );
    });
  }

  await t.step("runs.quality_level only moves forward; ended_at is set once", async () => {
    const level = (value: string) =>
      asWriter((tx) => tx`update runs set quality_level = ${value} where id = ${ids.run}`);
    const forward = "runs_quality_level_forward";
    await level("reviewed");
    await refused(level("draft"), "23514", forward);
    await level("reviewed"); // staying put is not moving back
    await level("released"); // skipping a level forward is allowed
    await refused(level("validated"), "23514", forward);
    await refused(level("draft"), "23514", forward);

    const end = () => asWriter((tx) => tx`update runs set ended_at = now() where id = ${ids.run}`);
    await end();
    await refused(end(), "23514", "runs_ended_at_once");
    await refused(asWriter((tx) => tx`update runs set actor_id = 'x'`), "42501");
    await refused(db.sql`update runs set actor_id = 'x'`, "23514", "runs_immutable");

    const [run] = await db.sql`select quality_level, actor_id from runs where id = ${ids.run}`;
    assert.deepEqual([run.quality_level, run.actor_id], ["released", "a-1"]);
  });
});

Deno.test("history is append-only for plm_migrator too; the server stamps id and created_at", async (t) => {
  await using db = await openTestDatabase();
  const tenant = crypto.randomUUID();
  const ids = await seedTenant(db.sql, tenant);
  let attacks = 0;
  const as = (role: string) => (fn: (tx: postgres.TransactionSql) => Promise<unknown>) =>
    db.sql.begin(async (tx) => {
      await tx`select set_config('app.tenant_id', ${tenant}, true)`;
      await tx.unsafe(`set local role ${role}`);
      return await fn(tx);
    });
  const asMigrator = as("plm_migrator");
  const count = async () =>
    await Promise.all(
      [...EVENT_TABLES, "runs"].map(async (table) =>
        (await db.sql`select count(*)::int as n from ${db.sql(table)}`)[0].n
      ),
    );
  const before = await count();

  await t.step("plm_migrator cannot delete, truncate or update an event", async () => {
    for (const table of EVENT_TABLES) {
      await refused(asMigrator((tx) => tx`delete from ${tx(table)}`), "42501");
      await refused(asMigrator((tx) => tx`truncate ${tx(table)}`), "42501");
      await refused(asMigrator((tx) => tx`update ${tx(table)} set tenant_id = tenant_id`), "42501");
      attacks += 3;
    }
    await refused(asMigrator((tx) => tx`delete from runs`), "42501");
    await refused(asMigrator((tx) => tx`truncate runs`), "42501");
    attacks += 2;
    assert.deepEqual(await count(), before);
  });

  await t.step("no role chooses the id or created_at of a new row", async () => {
    const forgedId = "9000000000";
    const forgedAt = new Date("2000-01-01T00:00:00Z");
    const roles = { plm_kernel_writer: as("plm_kernel_writer"), plm_migrator: asMigrator };
    for (const [role, run] of Object.entries(roles)) {
      for (const table of ["runs", ...EVENT_TABLES]) {
        const time = table === "runs" ? {} : { created_at: forgedAt };
        const row = {
          tenant_id: tenant,
          ...sampleRow(table, ids.snapshot),
          ...time,
          id: forgedId,
          ...(table === "pricing_snapshots" && { model: role }),
          ...(table === "runs" && { trace_id: role }),
          ...(table === "artifacts" && { storage_uri: `file:///forged/${role}` }),
          ...("idempotency_key" in sampleRow(table, ids.snapshot) &&
            { idempotency_key: role, span_id: role }),
        };
        const columns = Object.keys(row);
        const [stored] = await run((tx) =>
          tx.unsafe(
            `insert into ${table} (${columns.join(", ")}) overriding system value
             values (${columns.map((_, i) => `$${i + 1}`).join(", ")}) returning *`,
            Object.values(row) as postgres.ParameterOrJSON<never>[],
          )
        ) as Record<string, unknown>[];
        assert.notEqual(stored.id, forgedId, `${role} chose the id of a ${table} row`);
        if (table !== "runs") {
          assert.ok(
            Date.now() - (stored.created_at as Date).getTime() < 60_000,
            `${role} chose the created_at of a ${table} row`,
          );
        }
        attacks++;
      }
    }
  });
  console.log(`append-only (migrator and stamps): ${attacks} attacks refused or overruled`);
});
