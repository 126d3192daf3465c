/**
 * 0017: scale-out on Citus. On a database with the `citus` extension, `tenants` becomes a
 * reference table (a copy on every node) and the six tenant tables are distributed by
 * `tenant_id`, colocated (one tenant's rows of every table sit in the same shard group, so
 * joins and foreign keys between them stay on one node). The trigger functions (those of 0006
 * and 0013's cost guard) are adapted first, so that the copies Citus makes for the shards name
 * the logical table in their messages and constraint names (a shard's trigger sees
 * `telemetry_events_102069`: the shard suffix is stripped). `plm_current_tenant()` needs no
 * change here: 0013 pinned its `search_path`, which keeps PostgreSQL from inlining it (Citus
 * would evaluate the inlined cast of a malformed setting and fail with 22P02 where one server
 * matches no row). Citus refuses subqueries in the policies of distributed tables, so the
 * tenant isolation policies call `plm_current_tenant()` directly again (0013 wrapped it in a
 * scalar subquery, an initplan; on the shards the pinned function is evaluated per statement
 * where it is an index condition, else per row). On plain PostgreSQL both directions do nothing.
 *
 * `down` restores the trigger functions but leaves the tables distributed, and so the policies
 * without subquery: Citus cannot turn a table with an identity column back into a local one
 * (`undistribute_table` refuses), and the earlier revisions' `down` work on distributed tables
 * (they drop what they created). `up` again distributes only the tables that are not yet. On
 * Citus, 0013 can be applied again only to tables that are not distributed (after a `down` to
 * 0012 or below, go down to 0 first). The runner applies
 * `citus.enable_unsafe_triggers` and sequential multi-shard DDL around every revision on Citus.
 *
 * @module
 */
import type postgres from "postgres";
import { isCitus } from "../src/_postgres_citus.ts";

/** The reference table, then the distributed ones (`pricing_snapshots` before the calls). */
const REFERENCE = "tenants";
const DISTRIBUTED = [
  "runs",
  "pricing_snapshots",
  "telemetry_events",
  "llm_calls",
  "connector_calls",
  "artifacts",
];

const TABLE_NAME = /\btg_table_name\b/gi;
/** The logical table name in a trigger: the shard suffix (`_102069`) stripped. */
const LOGICAL_NAME = "regexp_replace(tg_table_name, '_[0-9]+$', '')";

/** Apply the revision. */
export async function up(sql: postgres.Sql): Promise<void> {
  if (!(await isCitus(sql))) return;
  for (const { definition } of await triggerFunctions(sql, "tg_table_name")) {
    await sql.unsafe(definition.replace(TABLE_NAME, () => LOGICAL_NAME));
  }
  for (const table of [REFERENCE, ...DISTRIBUTED]) {
    const column = table === REFERENCE ? "id" : "tenant_id";
    await sql.unsafe(`
      alter policy ${table}_tenant_isolation on ${table}
        using (${column} = plm_current_tenant()) with check (${column} = plm_current_tenant())`);
  }
  // After a `down`, the tables are still distributed: skip them.
  const placed = new Set(
    (await sql`select logicalrelid::text as name from pg_dist_partition`).map((row) => row.name),
  );
  await sql`set local citus.enable_local_reference_table_foreign_keys = off`;
  if (!placed.has(REFERENCE)) await sql`select create_reference_table(${REFERENCE})`;
  for (const [at, table] of DISTRIBUTED.entries()) {
    if (placed.has(table)) continue;
    const group = at === 0 ? "none" : DISTRIBUTED[0];
    await sql`select create_distributed_table(${table}, 'tenant_id', colocate_with => ${group})`;
  }
  // 0013's stamp trigger draws from the identity sequence with the inserting role's USAGE; on
  // the shards that is the workers' copy of the sequence, which Citus gives no grants. The
  // function (pinned search_path, it only draws from its trigger's own sequence) runs as its
  // owner there instead.
  await sql`alter function plm_stamp_insert() security definer`;
}

/** Revert the revision. */
export async function down(sql: postgres.Sql): Promise<void> {
  if (!(await isCitus(sql))) return;
  await sql`alter function plm_stamp_insert() security invoker`;
  for (const { definition } of await triggerFunctions(sql, LOGICAL_NAME)) {
    await sql.unsafe(definition.replaceAll(LOGICAL_NAME, "tg_table_name"));
  }
}

/** `CREATE OR REPLACE` definitions of this schema's trigger functions whose body has `text`. */
async function triggerFunctions(sql: postgres.Sql, text: string) {
  return await sql<{ definition: string }[]>`
    select pg_get_functiondef(p.oid) as definition
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = current_schema() and p.prorettype = 'trigger'::regtype
        and strpos(lower(p.prosrc), lower(${text})) > 0`;
}
