/**
 * 0010: the logical identity of an event, `uq_<table>_logical` UNIQUE (tenant_id, trace_id,
 * span_id, event_type). With the replay constraint `<table>_idempotency_key_key` it backs the
 * emitter's contract: same key = replay, same identity with other content = conflict.
 *
 * @module
 */
import type postgres from "postgres";

const TABLES = ["telemetry_events", "llm_calls", "connector_calls"];

/** Apply the revision. */
export async function up(sql: postgres.Sql): Promise<void> {
  for (const table of TABLES) {
    await sql`
      alter table ${sql(table)} add constraint ${sql(`uq_${table}_logical`)}
        unique (tenant_id, trace_id, span_id, event_type)`;
  }
}

/** Revert the revision. */
export async function down(sql: postgres.Sql): Promise<void> {
  for (const table of TABLES) {
    await sql`alter table ${sql(table)} drop constraint ${sql(`uq_${table}_logical`)}`;
  }
}
