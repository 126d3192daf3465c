/**
 * 0011: `pricing_snapshots`, one row per (tenant, model, day) named
 * `uq_pricing_snapshots_tenant_model_date`, immutable, under the same row level security;
 * nullable `pricing_snapshot_id` columns on `llm_calls` and `connector_calls` with foreign keys
 * (tenant_id, pricing_snapshot_id) → pricing_snapshots (tenant_id, id).
 *
 * @module
 */
import type postgres from "postgres";

const CALL_TABLES = ["llm_calls", "connector_calls"];

/** Apply the revision. */
export async function up(sql: postgres.Sql): Promise<void> {
  await sql`
    create table pricing_snapshots (
      tenant_id uuid not null,
      id bigint generated always as identity,
      model text not null,
      snapshot_date date not null,
      pricing_version text not null,
      fx_usd_eur numeric,
      created_at timestamptz not null default now(),
      constraint pricing_snapshots_pkey primary key (tenant_id, id),
      constraint pricing_snapshots_tenant_id_fkey foreign key (tenant_id) references tenants (id),
      constraint pricing_snapshots_pricing_version_check
        check (pricing_version in ('litellm-live', 'overrides-static', 'unavailable')),
      constraint pricing_snapshots_fx_usd_eur_check check (fx_usd_eur > 0),
      constraint uq_pricing_snapshots_tenant_model_date unique (tenant_id, model, snapshot_date)
    )`;
  await sql`
    create trigger pricing_snapshots_refuse_update before update on pricing_snapshots
      for each row execute function plm_refuse_update()`;
  await sql`alter table pricing_snapshots enable row level security`;
  await sql`alter table pricing_snapshots force row level security`;
  await sql`
    create policy pricing_snapshots_tenant_isolation on pricing_snapshots
      using (tenant_id = plm_current_tenant()) with check (tenant_id = plm_current_tenant())`;
  await sql`grant select, insert on pricing_snapshots to plm_kernel_writer`;
  for (const table of CALL_TABLES) {
    await sql`alter table ${sql(table)} add column pricing_snapshot_id bigint`;
    await sql`
      alter table ${sql(table)} add constraint ${sql(`${table}_pricing_snapshot_fkey`)}
        foreign key (tenant_id, pricing_snapshot_id) references pricing_snapshots (tenant_id, id)`;
    await sql`grant update (pricing_snapshot_id) on ${sql(table)} to plm_kernel_writer`;
  }
}

/** Revert the revision. */
export async function down(sql: postgres.Sql): Promise<void> {
  for (const table of CALL_TABLES) {
    await sql`alter table ${sql(table)} drop column pricing_snapshot_id`;
  }
  await sql`drop table pricing_snapshots`;
}
