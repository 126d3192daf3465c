/**
 * The row types of the tables the migrations create, as postgres.js reads them through
 * `connect`: `bigint` and `numeric` columns as decimal strings, `timestamptz` and `date`
 * as `Date`, `jsonb` parsed.
 *
 * @module
 */
import type { ActorKind, CostStatus, PricingVersion, QualityLevel } from "./vocabulary.ts";

export type { ActorKind, QualityLevel } from "./vocabulary.ts";

/** Fields every tenant-scoped row has. `id` is a `bigint` identity, read as a decimal string. */
export interface TenantScopedRow {
  /** Owning tenant. */
  tenant_id: string;
  /** Identity, unique per tenant. */
  id: string;
  /** Insert time. */
  created_at: Date;
}

/** Columns the three event tables share (the idempotency identity). */
export interface EventRow extends TenantScopedRow {
  /** Trace of the run the event belongs to. */
  trace_id: string;
  /** Span that emitted it. */
  span_id: string;
  /** Event type (part of the logical identity). */
  event_type: string;
  /** `idempotencyKeyToString` of the event's key. */
  idempotency_key: string;
  /** `computeContentHash` of the event's content. */
  content_hash: string;
}

/** Cost columns of `llm_calls` and `connector_calls` (`numeric` read as a string). */
export interface CostColumns {
  /** Where the price came from. */
  pricing_version: PricingVersion;
  /** Cost in EUR, 10 decimals, when calculated. */
  cost_eur: string | null;
  /** Moves once from `pending` to `calculated` or `unavailable`. */
  cost_status: CostStatus;
  /** The `pricing_snapshots` row used, if any. */
  pricing_snapshot_id: string | null;
}

/** A row of `tenants` (the reference table). */
export interface TenantRow {
  /** Tenant id. */
  id: string;
  /** Display name. */
  name: string;
  /** Insert time. */
  created_at: Date;
}

/** A row of `runs`: one per trace. */
export interface RunRow extends Omit<TenantScopedRow, "created_at"> {
  /** The run's trace. */
  trace_id: string;
  /** Product line that ran it. */
  product_line: string | null;
  /** Kind of actor. */
  actor_kind: ActorKind;
  /** Actor id (`u-42`, an agent name, ...). */
  actor_id: string;
  /** Quality level reached. */
  quality_level: QualityLevel;
  /** Start time. */
  started_at: Date;
  /** End time, once ended. */
  ended_at: Date | null;
}

/** A row of `telemetry_events` (telemetry and governance events). */
export interface TelemetryEventRow extends EventRow {
  /** Which emit wrote it. */
  event_kind: "telemetry" | "governance";
  /** Capability of a telemetry event; `null` for governance events. */
  capability: string | null;
  /** The event's payload. */
  payload: Record<string, unknown>;
}

/** A row of `llm_calls`. */
export interface LlmCallRow extends EventRow, CostColumns {
  /** Model name. */
  model: string;
  /** Prompt tokens. */
  prompt_tokens: number;
  /** Completion tokens. */
  completion_tokens: number;
}

/** A row of `connector_calls`. */
export interface ConnectorCallRow extends EventRow, CostColumns {
  /** Connector (`3dx-rest`). */
  connector_id: string;
  /** Capability used (`read.parts`). */
  capability: string;
  /** The connector's envelope. */
  envelope: Record<string, unknown>;
}

/** A row of `artifacts`. */
export interface ArtifactRow extends TenantScopedRow {
  /** Run that produced it, if any. */
  trace_id: string | null;
  /** Where the bytes are (`s3://...`, `file://...`). */
  storage_uri: string;
  /** Lowercase hex SHA-256 of the bytes. */
  sha256: string;
  /** Size in bytes (`bigint`, as a string). */
  size_bytes: string;
  /** Media type. */
  content_type: string;
  /** Keep until, if limited. */
  retention_until: Date | null;
}

/** A row of `pricing_snapshots`: one price source per tenant, model and day. */
export interface PricingSnapshotRow extends TenantScopedRow {
  /** Model (for connector calls: the connector id). */
  model: string;
  /** Day the prices apply to. */
  snapshot_date: Date;
  /** Price source. */
  pricing_version: PricingVersion;
  /** USD to EUR rate used, if converted. */
  fx_usd_eur: string | null;
  /** Where the prices come from; `null` when recorded without a price table. */
  source: string | null;
  /** When the prices were taken; `null` when recorded without a price table. */
  taken_at: Date | null;
  /** Lowercase hex SHA-256 of the price table; `null` when recorded without one. */
  price_table_digest: string | null;
}
