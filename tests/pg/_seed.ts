/**
 * Test data for the schema suites: a tenant with a run and rows in every table, inserted as the
 * superuser (row level security does not apply to it).
 *
 * @module
 */
import type postgres from "postgres";

/** Ids of what {@link seedTenant} inserted. */
export interface SeededTenant {
  /** `runs.id`. */
  run: string;
  /** `pricing_snapshots.id`. */
  snapshot: string;
  /** `llm_calls.id` of each call, every cost pending. */
  llmCalls: string[];
  /** `connector_calls.id` of each call, every cost pending. */
  connectorCalls: string[];
}

/**
 * Insert tenant `tenant` with one run on `traceId`, a telemetry and a governance event, `calls`
 * LLM and connector calls (cost pending), an artifact and a pricing snapshot.
 */
export async function seedTenant(
  sql: postgres.Sql,
  tenant: string,
  { traceId = "trace-1", calls = 1 }: { traceId?: string; calls?: number } = {},
): Promise<SeededTenant> {
  await sql`insert into tenants (id, name) values (${tenant}, ${`tenant ${tenant}`})`;
  const [run] = await sql`
    insert into runs (tenant_id, trace_id, actor_kind, actor_id)
    values (${tenant}, ${traceId}, 'agent', 'a-1') returning id`;
  const [snapshot] = await sql`
    insert into pricing_snapshots (tenant_id, model, snapshot_date, pricing_version)
    values (${tenant}, 'gpt-4o', '2025-01-01', 'overrides-static') returning id`;
  await sql`
    insert into telemetry_events (tenant_id, trace_id, span_id, event_kind, event_type,
      capability, payload, idempotency_key, content_hash)
    values
      (${tenant}, ${traceId}, 's-1', 'telemetry', 'knowledge_call', 'knowledge.search',
       '{"secret": "telemetry"}', 'k-t', 'h'),
      (${tenant}, ${traceId}, 's-2', 'governance', 'hitl_resolved', null,
       '{"secret": "governance"}', 'k-g', 'h')`;
  const llm = await sql`
    insert into llm_calls (tenant_id, trace_id, span_id, event_type, model, prompt_tokens,
      completion_tokens, pricing_version, cost_status, idempotency_key, content_hash)
    select ${tenant}, ${traceId}, 's-' || n, 'llm_call', 'gpt-4o', 10, 5, 'litellm-live',
      'pending', 'k-l' || n, 'h'
    from generate_series(1, ${calls}::int) n returning id`;
  const connector = await sql`
    insert into connector_calls (tenant_id, trace_id, span_id, event_type, connector_id,
      capability, pricing_version, cost_status, idempotency_key, content_hash)
    select ${tenant}, ${traceId}, 's-' || n, 'connector_call', '3dx-rest', 'read.parts',
      'overrides-static', 'pending', 'k-c' || n, 'h'
    from generate_series(1, ${calls}::int) n returning id`;
  await sql`
    insert into artifacts (tenant_id, trace_id, storage_uri, sha256, size_bytes, content_type)
    values (${tenant}, ${traceId}, 's3://b/k', ${"a".repeat(64)}, 3, 'text/plain')`;
  return {
    run: run.id,
    snapshot: snapshot.id,
    llmCalls: llm.map((row) => row.id),
    connectorCalls: connector.map((row) => row.id),
  };
}

/**
 * The columns of one valid row of `table` (tenant aside), with fixed keys: insert it once per
 * tenant. `snapshot` is a `pricing_snapshots.id` of that tenant, for `llm_calls`.
 */
export function sampleRow(table: string, snapshot: string): Record<string, unknown> {
  const rows: Record<string, Record<string, unknown>> = {
    runs: { trace_id: "x", actor_kind: "human", actor_id: "x" },
    telemetry_events: {
      trace_id: "x",
      span_id: "x",
      event_kind: "telemetry",
      event_type: "x",
      capability: "llm.call",
      idempotency_key: "x",
      content_hash: "x",
    },
    llm_calls: {
      trace_id: "x",
      span_id: "x",
      event_type: "x",
      model: "m",
      prompt_tokens: 1,
      completion_tokens: 1,
      pricing_version: "litellm-live",
      cost_status: "pending",
      idempotency_key: "x",
      content_hash: "x",
      pricing_snapshot_id: snapshot,
    },
    connector_calls: {
      trace_id: "x",
      span_id: "x",
      event_type: "x",
      connector_id: "c",
      capability: "read.parts",
      pricing_version: "unavailable",
      cost_status: "unavailable",
      idempotency_key: "x",
      content_hash: "x",
    },
    artifacts: {
      storage_uri: "s3://b/x",
      sha256: "b".repeat(64),
      size_bytes: 1,
      content_type: "text/plain",
    },
    pricing_snapshots: {
      model: "m",
      snapshot_date: "2025-01-02",
      pricing_version: "litellm-live",
    },
  };
  return rows[table];
}
