/**
 * 0019: an event's primary key is its logical identity. On the three event tables
 * `<table>_pkey` becomes (tenant_id, trace_id, span_id, event_type), the key of
 * `uq_<table>_logical` (0010), which it replaces: one unique index per table instead of two,
 * about 40 bytes less per event and one index insert less per write. `id` stays: drawn by the
 * server from the table's identity sequence for every row (0013's stamp), never chosen by a
 * caller, and so unique without an index of its own; nothing refers to it.
 *
 * `up` and `down` rebuild the indexes under an exclusive lock on each table (a few seconds per
 * million rows). `down` restores (tenant_id, id) as the primary key and `uq_<table>_logical`.
 *
 * @module
 */
import type postgres from "postgres";

const TABLES = ["telemetry_events", "llm_calls", "connector_calls"];

/** Apply the revision. */
export async function up(sql: postgres.Sql): Promise<void> {
  for (const table of TABLES) {
    // One subcommand per statement: Citus refuses to mix them on a distributed table.
    await sql`alter table ${sql(table)} drop constraint ${sql(`${table}_pkey`)}`;
    await sql`alter table ${sql(table)} drop constraint ${sql(`uq_${table}_logical`)}`;
    await sql`
      alter table ${sql(table)} add constraint ${sql(`${table}_pkey`)}
        primary key (tenant_id, trace_id, span_id, event_type)`;
  }
}

/** Revert the revision. */
export async function down(sql: postgres.Sql): Promise<void> {
  for (const table of TABLES) {
    await sql`alter table ${sql(table)} drop constraint ${sql(`${table}_pkey`)}`;
    await sql`
      alter table ${sql(table)} add constraint ${sql(`${table}_pkey`)} primary key (tenant_id, id)`;
    await sql`
      alter table ${sql(table)} add constraint ${sql(`uq_${table}_logical`)}
        unique (tenant_id, trace_id, span_id, event_type)`;
  }
}
