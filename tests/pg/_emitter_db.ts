/**
 * Shared by the PostgresKernelEmitter tests: a migrated test database with tenants and
 * emitters that write under row-level security (on PGlite, where every connection is the
 * superuser, through the emitter's `role` option), plus valid arguments of each kind.
 *
 * @module
 */
import type postgres from "postgres";
import { computeContentHash } from "../../src/idempotency.ts";
import type { EventTable } from "../../src/kernel_api.ts";
import {
  PostgresKernelEmitter,
  type PostgresKernelEmitterOptions,
} from "../../src/postgres_kernel_emitter.ts";
import type { TestDatabase } from "../_pg.ts";

/** Insert a tenant row (as the superuser) and return its id. */
export async function addTenant(
  db: TestDatabase,
  tenantId: string = crypto.randomUUID(),
): Promise<string> {
  await db.sql`insert into tenants (id, name) values (${tenantId}, ${`tenant ${tenantId}`})`;
  return tenantId;
}

/**
 * An emitter for `tenantId` on `sql` (default: the writer login). On PGlite it switches to
 * `plm_kernel_writer` per statement, so row-level security applies there too.
 */
export function emitterFor(
  db: TestDatabase,
  tenantId: string,
  sql: postgres.Sql = db.writer,
  options: Partial<PostgresKernelEmitterOptions> = {},
): PostgresKernelEmitter {
  return new PostgresKernelEmitter(sql, {
    tenantId,
    ...(db.embedded ? { role: "plm_kernel_writer" } : {}),
    ...options,
  });
}

/** Rows of `table` for `tenantId`, counted by the superuser. */
export async function countRows(
  db: TestDatabase,
  table: EventTable | "pricing_snapshots",
  tenantId: string,
): Promise<number> {
  const [row] = await db.sql`
    select count(*)::int as n from ${db.sql(table)} where tenant_id = ${tenantId}`;
  return row.n;
}

/** A fresh 32-hex trace id. */
export function newTraceId(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

function key(tenantId: string, traceId: string, spanId: string, type: string, content: unknown) {
  return {
    tenant_id: tenantId,
    trace_id: traceId,
    span_id: spanId,
    event_type: type,
    content_hash: computeContentHash(content),
  };
}

/** Valid `emitTelemetry` arguments; `payload` decides the content. */
export function telemetry(
  tenantId: string,
  traceId: string,
  spanId: string,
  payload: Record<string, unknown> = { step: 1 },
) {
  return {
    event_type: "skill.run.started",
    span_id: spanId,
    capability: "read.bom",
    payload,
    idempotency_key: key(tenantId, traceId, spanId, "skill.run.started", payload),
  };
}

/** Valid `emitGovernance` arguments. */
export function governance(tenantId: string, traceId: string, spanId: string) {
  const payload = { approver: "u-42" };
  return {
    governance_event_type: "hitl.approved",
    span_id: spanId,
    payload,
    idempotency_key: key(tenantId, traceId, spanId, "hitl.approved", payload),
  };
}

/** Valid `recordLlmCall` arguments with a calculated cost. */
export function llmCall(tenantId: string, traceId: string, spanId: string, model = "gpt-4o") {
  const call = {
    model,
    prompt_tokens: 1200,
    completion_tokens: 300,
    pricing_version: "litellm-live" as const,
    cost_eur: 0.0125,
    cost_status: "calculated" as const,
  };
  return {
    span_id: spanId,
    ...call,
    idempotency_key: key(tenantId, traceId, spanId, "llm.call", call),
  };
}

/** Valid `recordConnectorCall` arguments; `pricingVersion` "unavailable" carries no cost. */
export function connectorCall(
  tenantId: string,
  traceId: string,
  spanId: string,
  pricingVersion: "overrides-static" | "unavailable" = "overrides-static",
) {
  const call = {
    connector_id: "3dx-rest",
    capability: "read.parts",
    envelope: { part: "P-1" },
    ...(pricingVersion === "unavailable"
      ? { pricing_version: pricingVersion, cost_status: "unavailable" as const }
      : { pricing_version: pricingVersion, cost_eur: 0.002, cost_status: "calculated" as const }),
  };
  return {
    span_id: spanId,
    ...call,
    idempotency_key: key(tenantId, traceId, spanId, "connector.call", call),
  };
}
