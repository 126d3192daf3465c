/**
 * 0004: `connector_calls` (connector, capability, envelope, cost columns) and the replay
 * constraint `connector_calls_idempotency_key_key`.
 *
 * @module
 */
import type postgres from "postgres";

/** Apply the revision. */
export async function up(sql: postgres.Sql): Promise<void> {
  await sql`
    create table connector_calls (
      tenant_id uuid not null,
      id bigint generated always as identity,
      trace_id text not null,
      span_id text not null,
      event_type text not null,
      connector_id text not null,
      capability text not null,
      envelope jsonb not null default '{}',
      pricing_version text not null,
      cost_eur numeric(20, 10),
      cost_status text not null,
      idempotency_key text not null,
      content_hash text not null,
      created_at timestamptz not null default now(),
      constraint connector_calls_pkey primary key (tenant_id, id),
      constraint connector_calls_tenant_id_fkey foreign key (tenant_id) references tenants (id),
      constraint connector_calls_envelope_check check (jsonb_typeof(envelope) = 'object'),
      constraint connector_calls_pricing_version_check
        check (pricing_version in ('litellm-live', 'overrides-static', 'unavailable')),
      constraint connector_calls_cost_status_check
        check (cost_status in ('pending', 'calculated', 'unavailable')),
      constraint connector_calls_cost_eur_check check (cost_eur >= 0),
      constraint connector_calls_cost_eur_status_check check (
        (cost_status <> 'calculated' or cost_eur is not null)
        and (cost_status <> 'unavailable' or cost_eur is null)),
      constraint connector_calls_idempotency_key_key unique (tenant_id, idempotency_key)
    )`;
  await sql`
    create index connector_calls_tenant_trace_created_idx
      on connector_calls (tenant_id, trace_id, created_at)`;
}

/** Revert the revision. */
export async function down(sql: postgres.Sql): Promise<void> {
  await sql`drop table connector_calls`;
}
