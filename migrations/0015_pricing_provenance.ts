/**
 * 0015: provenance of `pricing_snapshots`: `source`, `taken_at` and `price_table_digest`
 * (lowercase hex SHA-256 of the price table) beside the existing `fx_usd_eur`. A new price table
 * is a new snapshot: the unique key becomes `uq_pricing_snapshots_tenant_model_date_digest`
 * (tenant, model, day, digest; NULLS NOT DISTINCT, so rows without a table stay one per day).
 * Rows stay immutable (the refuse-update trigger of 0011 is untouched). `down` fails while a
 * (tenant, model, day) has more than one snapshot: the old key cannot hold that history.
 *
 * @module
 */
import type postgres from "postgres";

/** Apply the revision. */
export async function up(sql: postgres.Sql): Promise<void> {
  await sql`
    alter table pricing_snapshots
      add column source text,
      add column taken_at timestamptz,
      add column price_table_digest text,
      add constraint pricing_snapshots_price_table_digest_check
        check (price_table_digest ~ '^[0-9a-f]{64}$'),
      drop constraint uq_pricing_snapshots_tenant_model_date,
      add constraint uq_pricing_snapshots_tenant_model_date_digest
        unique nulls not distinct (tenant_id, model, snapshot_date, price_table_digest)`;
}

/** Revert the revision. */
export async function down(sql: postgres.Sql): Promise<void> {
  // One ADD CONSTRAINT per statement: Citus refuses it beside other subcommands.
  await sql`
    alter table pricing_snapshots
      drop constraint uq_pricing_snapshots_tenant_model_date_digest`;
  await sql`
    alter table pricing_snapshots
      add constraint uq_pricing_snapshots_tenant_model_date
        unique (tenant_id, model, snapshot_date)`;
  await sql`
    alter table pricing_snapshots
      drop column price_table_digest,
      drop column taken_at,
      drop column source`;
}
