/**
 * 0003: `llm_calls` with token and cost columns and the replay constraint
 * `llm_calls_idempotency_key_key`.
 *
 * @module
 */
import type postgres from "postgres";

/** Apply the revision. */
export async function up(sql: postgres.Sql): Promise<void> {
  await sql`
    create table llm_calls (
      tenant_id uuid not null,
      id bigint generated always as identity,
      trace_id text not null,
      span_id text not null,
      event_type text not null,
      model text not null,
      prompt_tokens integer not null,
      completion_tokens integer not null,
      pricing_version text not null,
      cost_eur numeric(20, 10),
      cost_status text not null,
      idempotency_key text not null,
      content_hash text not null,
      created_at timestamptz not null default now(),
      constraint llm_calls_pkey primary key (tenant_id, id),
      constraint llm_calls_tenant_id_fkey foreign key (tenant_id) references tenants (id),
      constraint llm_calls_prompt_tokens_check check (prompt_tokens >= 0),
      constraint llm_calls_completion_tokens_check check (completion_tokens >= 0),
      constraint llm_calls_pricing_version_check
        check (pricing_version in ('litellm-live', 'overrides-static', 'unavailable')),
      constraint llm_calls_cost_status_check
        check (cost_status in ('pending', 'calculated', 'unavailable')),
      constraint llm_calls_cost_eur_check check (cost_eur >= 0),
      constraint llm_calls_cost_eur_status_check check (
        (cost_status <> 'calculated' or cost_eur is not null)
        and (cost_status <> 'unavailable' or cost_eur is null)),
      constraint llm_calls_idempotency_key_key unique (tenant_id, idempotency_key)
    )`;
  await sql`
    create index llm_calls_tenant_trace_created_idx
      on llm_calls (tenant_id, trace_id, created_at)`;
}

/** Revert the revision. */
export async function down(sql: postgres.Sql): Promise<void> {
  await sql`drop table llm_calls`;
}
