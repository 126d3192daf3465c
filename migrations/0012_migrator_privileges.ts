/**
 * 0012: `plm_migrator`'s privileges on the seven tables (BYPASSRLS alone grants no table
 * access): SELECT, INSERT, UPDATE, DELETE, for maintenance such as retention. The triggers of
 * 0006 still bind it: it cannot rewrite an event either.
 *
 * @module
 */
import type postgres from "postgres";

/** Apply the revision. */
export async function up(sql: postgres.Sql): Promise<void> {
  await sql`
    grant select, insert, update, delete on tenants, runs, telemetry_events, llm_calls,
      connector_calls, artifacts, pricing_snapshots to plm_migrator`;
}

/** Revert the revision. */
export async function down(sql: postgres.Sql): Promise<void> {
  await sql`
    revoke all on tenants, runs, telemetry_events, llm_calls, connector_calls, artifacts,
      pricing_snapshots from plm_migrator`;
}
