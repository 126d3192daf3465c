/**
 * 0007: `mcrc_v1_view`, one row per run, its columns grouped §1 identity, §2 actor, §3 quality,
 * §4 telemetry, §5 LLM usage and cost, §6 connector usage and cost, §7 artifacts,
 * §8 governance. `security_invoker` makes the reader's row level security apply through it.
 * Cost sums add the `calculated` rows only; pending and unavailable rows are counted apart.
 *
 * @module
 */
import type postgres from "postgres";

const COLUMNS: Record<string, string> = {
  tenant_id: "§1 identity: tenant",
  run_id: "§1 identity: runs.id",
  trace_id: "§1 identity: trace of the run",
  product_line: "§1 identity: product line that ran it",
  started_at: "§1 identity: start time",
  ended_at: "§1 identity: end time, once ended",
  actor_kind: "§2 actor: human, agent, system or connector",
  actor_id: "§2 actor: actor id",
  quality_level: "§3 quality: level reached",
  telemetry_event_count: "§4 telemetry: telemetry events",
  telemetry_capabilities: "§4 telemetry: capabilities used, sorted",
  first_telemetry_at: "§4 telemetry: first event time",
  last_telemetry_at: "§4 telemetry: last event time",
  llm_call_count: "§5 LLM: calls",
  llm_models: "§5 LLM: models used, sorted",
  llm_prompt_tokens: "§5 LLM: prompt tokens",
  llm_completion_tokens: "§5 LLM: completion tokens",
  llm_cost_eur: "§5 LLM: cost in EUR of the calculated calls",
  llm_cost_pending_count: "§5 LLM: calls whose cost is pending",
  llm_cost_unavailable_count: "§5 LLM: calls whose cost is unavailable",
  connector_call_count: "§6 connectors: calls",
  connector_ids: "§6 connectors: connectors used, sorted",
  connector_cost_eur: "§6 connectors: cost in EUR of the calculated calls",
  connector_cost_pending_count: "§6 connectors: calls whose cost is pending",
  connector_cost_unavailable_count: "§6 connectors: calls whose cost is unavailable",
  artifact_count: "§7 artifacts: artifacts",
  artifact_bytes: "§7 artifacts: total size in bytes",
  governance_event_count: "§8 governance: governance events",
  last_governance_event_type: "§8 governance: type of the latest governance event",
  last_governance_event_at: "§8 governance: time of the latest governance event",
};

/** Apply the revision. */
export async function up(sql: postgres.Sql): Promise<void> {
  await sql`
    create view mcrc_v1_view with (security_invoker = true) as
    select
      r.tenant_id, r.id as run_id, r.trace_id, r.product_line, r.started_at, r.ended_at,
      r.actor_kind, r.actor_id,
      r.quality_level,
      t.telemetry_event_count, t.telemetry_capabilities, t.first_telemetry_at,
      t.last_telemetry_at,
      l.llm_call_count, l.llm_models, l.llm_prompt_tokens, l.llm_completion_tokens,
      l.llm_cost_eur, l.llm_cost_pending_count, l.llm_cost_unavailable_count,
      c.connector_call_count, c.connector_ids, c.connector_cost_eur,
      c.connector_cost_pending_count, c.connector_cost_unavailable_count,
      a.artifact_count, a.artifact_bytes,
      g.governance_event_count, lg.event_type as last_governance_event_type,
      lg.created_at as last_governance_event_at
    from runs r
    cross join lateral (
      select count(*) as telemetry_event_count,
             coalesce(array_agg(distinct e.capability order by e.capability), '{}')
               as telemetry_capabilities,
             min(e.created_at) as first_telemetry_at, max(e.created_at) as last_telemetry_at
      from telemetry_events e
      where e.tenant_id = r.tenant_id and e.trace_id = r.trace_id and e.event_kind = 'telemetry'
    ) t
    cross join lateral (
      select count(*) as llm_call_count,
             coalesce(array_agg(distinct m.model order by m.model), '{}') as llm_models,
             coalesce(sum(m.prompt_tokens), 0) as llm_prompt_tokens,
             coalesce(sum(m.completion_tokens), 0) as llm_completion_tokens,
             coalesce(sum(m.cost_eur) filter (where m.cost_status = 'calculated'), 0)
               as llm_cost_eur,
             count(*) filter (where m.cost_status = 'pending') as llm_cost_pending_count,
             count(*) filter (where m.cost_status = 'unavailable') as llm_cost_unavailable_count
      from llm_calls m
      where m.tenant_id = r.tenant_id and m.trace_id = r.trace_id
    ) l
    cross join lateral (
      select count(*) as connector_call_count,
             coalesce(array_agg(distinct k.connector_id order by k.connector_id), '{}')
               as connector_ids,
             coalesce(sum(k.cost_eur) filter (where k.cost_status = 'calculated'), 0)
               as connector_cost_eur,
             count(*) filter (where k.cost_status = 'pending') as connector_cost_pending_count,
             count(*) filter (where k.cost_status = 'unavailable')
               as connector_cost_unavailable_count
      from connector_calls k
      where k.tenant_id = r.tenant_id and k.trace_id = r.trace_id
    ) c
    cross join lateral (
      select count(*) as artifact_count, coalesce(sum(f.size_bytes), 0) as artifact_bytes
      from artifacts f
      where f.tenant_id = r.tenant_id and f.trace_id = r.trace_id
    ) a
    cross join lateral (
      select count(*) as governance_event_count
      from telemetry_events e
      where e.tenant_id = r.tenant_id and e.trace_id = r.trace_id and e.event_kind = 'governance'
    ) g
    left join lateral (
      select e.event_type, e.created_at
      from telemetry_events e
      where e.tenant_id = r.tenant_id and e.trace_id = r.trace_id and e.event_kind = 'governance'
      order by e.created_at desc, e.id desc
      limit 1
    ) lg on true`;
  await sql`comment on view mcrc_v1_view is 'MCRC v1: one row per run, columns grouped §1 to §8'`;
  for (const [column, comment] of Object.entries(COLUMNS)) {
    await sql.unsafe(`comment on column mcrc_v1_view.${column} is '${comment}'`);
  }
}

/** Revert the revision. */
export async function down(sql: postgres.Sql): Promise<void> {
  await sql`drop view mcrc_v1_view`;
}
