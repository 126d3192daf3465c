/**
 * 0017: scale-out on Citus. On a database with the `citus` extension, `tenants` becomes a
 * reference table (a copy on every node) and the six tenant tables are distributed by
 * `tenant_id`, colocated (one tenant's rows of every table sit in the same shard group, so
 * joins and foreign keys between them stay on one node). Two functions are adapted first, so
 * that the copies Citus makes for the workers behave as on one server: the trigger functions of
 * 0006 name the logical table (a shard's triggers see `telemetry_events_102069`), and
 * `plm_current_tenant()` gets a pinned `search_path`, which keeps PostgreSQL from inlining it
 * (Citus evaluates the inlined cast of a malformed setting and fails with 22P02 where one
 * server matches no row). On plain PostgreSQL both directions do nothing.
 *
 * `down` restores the two functions but leaves the tables distributed: Citus cannot turn a
 * table with an identity column back into a local one (`undistribute_table` refuses), and the
 * earlier revisions' `down` work on distributed tables (they drop what they created). `up`
 * again distributes only the tables that are not yet. The runner applies
 * `citus.enable_unsafe_triggers` and sequential multi-shard DDL around every revision on Citus.
 *
 * @module
 */
import type postgres from "postgres";

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
  if (!(await hasCitus(sql))) return;
  for (const { definition } of await triggerFunctions(sql, "tg_table_name")) {
    await sql.unsafe(definition.replace(TABLE_NAME, () => LOGICAL_NAME));
  }
  // A function with settings is never inlined; keep settings an earlier revision gave it.
  if ((await tenantFunctionSettings(sql)) === null) {
    await sql`alter function plm_current_tenant() set search_path = pg_catalog`;
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
}

/** Revert the revision. */
export async function down(sql: postgres.Sql): Promise<void> {
  if (!(await hasCitus(sql))) return;
  if ((await tenantFunctionSettings(sql))?.join() === PINNED) {
    await sql`alter function plm_current_tenant() reset search_path`;
  }
  for (const { definition } of await triggerFunctions(sql, LOGICAL_NAME)) {
    await sql.unsafe(definition.replaceAll(LOGICAL_NAME, "tg_table_name"));
  }
}

/** The settings `up` gives `plm_current_tenant()` when it has none. */
const PINNED = "search_path=pg_catalog";

async function tenantFunctionSettings(sql: postgres.Sql): Promise<string[] | null> {
  const [row] = await sql`
    select proconfig from pg_proc where oid = 'plm_current_tenant()'::regprocedure`;
  return row.proconfig;
}

async function hasCitus(sql: postgres.Sql): Promise<boolean> {
  const [row] = await sql`select 1 from pg_extension where extname = 'citus'`;
  return row !== undefined;
}

/** `CREATE OR REPLACE` definitions of this schema's trigger functions whose body has `text`. */
async function triggerFunctions(sql: postgres.Sql, text: string) {
  return await sql<{ definition: string }[]>`
    select pg_get_functiondef(p.oid) as definition
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = current_schema() and p.prorettype = 'trigger'::regtype
        and strpos(lower(p.prosrc), lower(${text})) > 0`;
}
