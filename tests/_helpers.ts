/**
 * Shared test helpers: valid kernel arguments of each kind with their idempotency keys (the
 * key's content hash is computed from the event's content, its span and event type repeat the
 * event's), fresh trace ids, and a closed loopback port.
 *
 * ```ts ignore
 * const args = llmCall(tenantId, { traceId, call: { model: "gpt-4o-mini" } });
 * await emitter.recordLlmCall(args);
 * ```
 *
 * @module
 */
import { createServer } from "node:net";
import { computeContentHash, type IdempotencyKey } from "../src/idempotency.ts";
import type {
  EmitConnectorCallArgs,
  EmitGovernanceArgs,
  EmitLlmCallArgs,
  EmitTelemetryArgs,
} from "../src/kernel_api.ts";

/** The span every builder uses unless told otherwise. */
export const SPAN_ID = "00f067aa0ba902b7";

/** Where an event sits. */
export interface EventPlace {
  /** The key's trace. @default a fresh trace id */
  traceId?: string;
  /** The event's span (and the key's). @default SPAN_ID */
  spanId?: string;
}

/** Options of the telemetry and governance builders: `payload` is the hashed content. */
type PayloadOptions = EventPlace & { payload?: Record<string, unknown> };

/** The cost fields of LLM and connector calls. */
type Cost = Pick<EmitLlmCallArgs, "pricing_version" | "cost_eur" | "cost_status">;

/** A fresh trace id: 32 lowercase hex digits. */
export function newTraceId(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/**
 * The idempotency key of an event.
 *
 * @param tenantId The key's tenant.
 * @param key The event type, the hashed content and where the event sits.
 */
export function idempotencyKey(
  tenantId: string,
  key: EventPlace & { eventType: string; content: unknown },
): IdempotencyKey {
  return {
    tenant_id: tenantId,
    trace_id: key.traceId ?? newTraceId(),
    span_id: key.spanId ?? SPAN_ID,
    event_type: key.eventType,
    content_hash: computeContentHash(key.content),
  };
}

/** Valid `emitTelemetry` arguments (`skill.run.started`, `read.bom`); `payload` is the content. */
export function telemetry(
  tenantId: string,
  options: PayloadOptions = {},
): EmitTelemetryArgs {
  const { payload = { skill: "bom-diff" } } = options;
  const eventType = "skill.run.started";
  return keyed(tenantId, options, eventType, {
    event_type: eventType,
    capability: "read.bom",
    payload,
  });
}

/** Valid `emitGovernance` arguments (`hitl.approved`); `payload` is the content. */
export function governance(
  tenantId: string,
  options: PayloadOptions = {},
): EmitGovernanceArgs {
  const { payload = { approver: "u-42" } } = options;
  const eventType = "hitl.approved";
  return keyed(tenantId, options, eventType, { governance_event_type: eventType, payload });
}

/**
 * Valid `recordLlmCall` arguments: `gpt-4o`, 1200 + 300 tokens, a calculated `litellm-live`
 * cost of 0.0125 EUR unless `call` says otherwise (`cost_eur` is left out unless calculated).
 */
export function llmCall(
  tenantId: string,
  options: EventPlace & { call?: Partial<Omit<EmitLlmCallArgs, "span_id" | "idempotency_key">> } =
    {},
): EmitLlmCallArgs {
  const call = withCost({
    model: "gpt-4o",
    prompt_tokens: 1200,
    completion_tokens: 300,
    pricing_version: "litellm-live",
    cost_eur: 0.0125,
    cost_status: "calculated",
  }, options.call);
  return keyed(tenantId, options, "llm.call", call);
}

/**
 * Valid `recordConnectorCall` arguments: `3dx-rest`, `read.parts`, envelope `{ part: "P-1" }`,
 * a calculated `overrides-static` cost of 0.002 EUR unless `call` says otherwise (`cost_eur` is
 * left out unless calculated).
 */
export function connectorCall(
  tenantId: string,
  options: EventPlace & {
    call?: Partial<Omit<EmitConnectorCallArgs, "span_id" | "idempotency_key">>;
  } = {},
): EmitConnectorCallArgs {
  const call = withCost({
    connector_id: "3dx-rest",
    capability: "read.parts",
    envelope: { part: "P-1" },
    pricing_version: "overrides-static",
    cost_eur: 0.002,
    cost_status: "calculated",
  }, options.call);
  return keyed(tenantId, options, "connector.call", call);
}

/** The cost fields of a call without a price: `"unavailable"` on both. */
export const NO_COST: Cost = { pricing_version: "unavailable", cost_status: "unavailable" };

/** A loopback port that was free a moment ago and has no listener (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `defaults` with `overrides`, without a default `cost_eur` when the cost is not calculated. */
function withCost<T extends Cost>(defaults: T, overrides: Partial<T> = {}): T {
  const { cost_eur, ...call } = { ...defaults, ...overrides };
  const priced = call.cost_status === "calculated" || "cost_eur" in overrides;
  return (priced ? { ...call, cost_eur } : call) as T;
}

/**
 * `fields` with the span and the idempotency key: the key's content is `fields` without the
 * event type (the payload for telemetry and governance events, the call otherwise).
 */
function keyed<T extends object>(
  tenantId: string,
  place: EventPlace,
  eventType: string,
  fields: T,
): T & { span_id: string; idempotency_key: IdempotencyKey } {
  const content = "payload" in fields ? fields.payload : fields;
  return {
    span_id: place.spanId ?? SPAN_ID,
    ...fields,
    idempotency_key: idempotencyKey(tenantId, { ...place, eventType, content }),
  };
}
