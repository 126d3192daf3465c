/**
 * 0002: `telemetry_events`, for telemetry and governance events (`event_kind`), with the
 * replay constraint `telemetry_events_idempotency_key_key`.
 *
 * @module
 */
import type postgres from "postgres";

/** Apply the revision. */
export async function up(sql: postgres.Sql): Promise<void> {
  await sql`
    create table telemetry_events (
      tenant_id uuid not null,
      id bigint generated always as identity,
      trace_id text not null,
      span_id text not null,
      event_kind text not null,
      event_type text not null,
      capability text,
      payload jsonb not null default '{}',
      idempotency_key text not null,
      content_hash text not null,
      created_at timestamptz not null default now(),
      constraint telemetry_events_pkey primary key (tenant_id, id),
      constraint telemetry_events_tenant_id_fkey foreign key (tenant_id) references tenants (id),
      constraint telemetry_events_event_kind_check
        check (event_kind in ('telemetry', 'governance')),
      constraint telemetry_events_capability_check
        check ((event_kind = 'telemetry') = (capability is not null)),
      constraint telemetry_events_payload_check check (jsonb_typeof(payload) = 'object'),
      constraint telemetry_events_idempotency_key_key unique (tenant_id, idempotency_key)
    )`;
  await sql`
    create index telemetry_events_tenant_trace_created_idx
      on telemetry_events (tenant_id, trace_id, created_at)`;
}

/** Revert the revision. */
export async function down(sql: postgres.Sql): Promise<void> {
  await sql`drop table telemetry_events`;
}
