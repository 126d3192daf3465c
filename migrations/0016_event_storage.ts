/**
 * 0016: fewer bytes per event. Drops the replay constraints `<table>_idempotency_key_key`
 * UNIQUE (tenant_id, idempotency_key): the key is the tenant, trace, span, event type and
 * content hash, so `uq_<table>_logical` (tenant_id, trace_id, span_id, event_type) plus the
 * stored `content_hash` decide replay and conflict alone (the emitter inserts on the logical
 * key and compares the hash). Drops `<table>_tenant_trace_created_idx` (tenant_id, trace_id,
 * created_at): the logical constraint's index serves every lookup by tenant and trace. The
 * `idempotency_key` column stays, as the row types promise it.
 *
 * `down` restores both; it fails if two rows of a tenant share a key, which the logical
 * constraint already rules out.
 *
 * @module
 */
import type postgres from "postgres";

const TABLES = ["telemetry_events", "llm_calls", "connector_calls"];

/** Apply the revision. */
export async function up(sql: postgres.Sql): Promise<void> {
  for (const table of TABLES) {
    await sql`alter table ${sql(table)} drop constraint ${sql(`${table}_idempotency_key_key`)}`;
    await sql`drop index ${sql(`${table}_tenant_trace_created_idx`)}`;
  }
}

/** Revert the revision. */
export async function down(sql: postgres.Sql): Promise<void> {
  for (const table of TABLES) {
    await sql`
      alter table ${sql(table)} add constraint ${sql(`${table}_idempotency_key_key`)}
        unique (tenant_id, idempotency_key)`;
    await sql`
      create index ${sql(`${table}_tenant_trace_created_idx`)}
        on ${sql(table)} (tenant_id, trace_id, created_at)`;
  }
}
