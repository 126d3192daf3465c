/**
 * Event builders: one call per kind of kernel event that returns complete, valid arguments
 * for the emitter's method, taking the trace and span from the current trace context, the
 * tenant from the current tenant context (or explicit fields), and deriving the idempotency
 * key by one content-hash rule:
 *
 * | builder | `event_type` of the key | content hashed (`computeContentHash`) |
 * |---|---|---|
 * | `telemetryEvent` | `event_type` | `payload` (default `{}`) |
 * | `governanceEvent` | `governance_event_type` | `payload` (default `{}`) |
 * | `llmCallEvent` | `event_type` (default `"llm.call"`) | `{ model, prompt_tokens, completion_tokens }` |
 * | `connectorCallEvent` | `event_type` (default `"connector.call"`) | `{ connector_id, capability, envelope }` |
 *
 * A call's cost fields are not hashed: the same call priced again (or priced `pending`, then
 * settled) is the same call. The span is the current span, never a new one, so that a retry
 * builds the same key; run each of several calls of one kind in its own span
 * (`withTraceContext(childSpan(), ...)`) or give each its own `event_type`.
 *
 * @module
 */
import { parseContract } from "./_contract_schema_parse.ts";
import { EMIT_KINDS, type EmitKind } from "./_kernel_api_schemas.ts";
import { computeContentHash } from "./idempotency.ts";
import type {
  EmitConnectorCallArgs,
  EmitGovernanceArgs,
  EmitLlmCallArgs,
  EmitTelemetryArgs,
} from "./kernel_api.ts";
import { requireTenant } from "./tenant_context.ts";
import { requireTraceContext } from "./trace_context.ts";

/** Where an event sits; each field defaults to the current context. */
export interface EventPlacement {
  /** The tenant. @default the current tenant context (`withTenant`) */
  readonly tenant_id?: string;
  /** The trace. @default the current trace context's trace id */
  readonly trace_id?: string;
  /** The span. @default the current trace context's span id */
  readonly span_id?: string;
}

/** Fields of {@link telemetryEvent}. */
export type TelemetryEventFields =
  & Pick<EmitTelemetryArgs, "event_type" | "capability">
  & { readonly payload?: Record<string, unknown> }
  & EventPlacement;

/** Fields of {@link governanceEvent}. */
export type GovernanceEventFields =
  & Pick<EmitGovernanceArgs, "governance_event_type">
  & { readonly payload?: Record<string, unknown> }
  & EventPlacement;

/** Fields of {@link llmCallEvent}. */
export type LlmCallEventFields =
  & Omit<EmitLlmCallArgs, "span_id" | "idempotency_key">
  & { readonly event_type?: string }
  & EventPlacement;

/** Fields of {@link connectorCallEvent}. */
export type ConnectorCallEventFields =
  & Omit<EmitConnectorCallArgs, "span_id" | "idempotency_key" | "envelope">
  & { readonly envelope?: Record<string, unknown>; readonly event_type?: string }
  & EventPlacement;

/**
 * Arguments for `emitTelemetry`; the key hashes `payload`.
 *
 * @param fields The event and, optionally, where it sits.
 * @returns Valid arguments.
 * @throws {ContextMissingError} When the tenant, trace or span is neither given nor current.
 * @throws {ValidationError} When a field breaks the contract.
 *
 * @example Inside the request's tenant and trace
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   MemoryKernelEmitter,
 *   newTraceContext,
 *   telemetryEvent,
 *   withTenant,
 *   withTraceContext,
 * } from "@tracepulse/plm-shared";
 *
 * const tenantId = "0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e";
 * const emitter = new MemoryKernelEmitter({ tenantId });
 * await withTenant(tenantId, () =>
 *   withTraceContext(newTraceContext(), async () => {
 *     const event = telemetryEvent({
 *       event_type: "skill.run.started",
 *       capability: "read.bom",
 *       payload: { skill: "bom-diff" },
 *     });
 *     await emitter.emitTelemetry(event);
 *     await emitter.emitTelemetry(telemetryEvent({ ...event })); // a retry: same key, replay
 *   }));
 * assert.equal(emitter.rows("telemetry_events").length, 1);
 * ```
 */
export function telemetryEvent(fields: TelemetryEventFields): EmitTelemetryArgs {
  const event = withoutPlace(fields);
  const payload = event.payload ?? {};
  return build("telemetry", { ...event, payload }, fields, event.event_type, payload);
}

/**
 * Arguments for `emitGovernance`; the key hashes `payload`.
 *
 * @param fields The event and, optionally, where it sits.
 * @returns Valid arguments.
 * @throws {ContextMissingError} When the tenant, trace or span is neither given nor current.
 * @throws {ValidationError} When a field breaks the contract.
 *
 * @example Explicit tenant and trace
 * ```ts
 * import assert from "node:assert/strict";
 * import { governanceEvent } from "@tracepulse/plm-shared";
 *
 * const event = governanceEvent({
 *   governance_event_type: "hitl.approved",
 *   payload: { approver: "u-42" },
 *   tenant_id: "0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e",
 *   trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
 *   span_id: "00f067aa0ba902b7",
 * });
 * assert.equal(event.idempotency_key.event_type, "hitl.approved");
 * ```
 */
export function governanceEvent(fields: GovernanceEventFields): EmitGovernanceArgs {
  const event = withoutPlace(fields);
  const payload = event.payload ?? {};
  return build(
    "governance",
    { ...event, payload },
    fields,
    event.governance_event_type,
    payload,
  );
}

/**
 * Arguments for `recordLlmCall`; the key hashes `{ model, prompt_tokens, completion_tokens }`.
 *
 * @param fields The call and, optionally, its event type and where it sits.
 * @returns Valid arguments.
 * @throws {ContextMissingError} When the tenant, trace or span is neither given nor current.
 * @throws {ValidationError} When a field breaks the contract (the cost rules included).
 *
 * @example The cost is not part of the key
 * ```ts
 * import assert from "node:assert/strict";
 * import { llmCallEvent } from "@tracepulse/plm-shared";
 *
 * const place = {
 *   tenant_id: "0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e",
 *   trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
 *   span_id: "00f067aa0ba902b7",
 * };
 * const usage = { model: "gpt-4o", prompt_tokens: 1200, completion_tokens: 300 };
 * const pending = llmCallEvent({
 *   ...place,
 *   ...usage,
 *   pricing_version: "litellm-live",
 *   cost_status: "pending",
 * });
 * const priced = llmCallEvent({
 *   ...place,
 *   ...usage,
 *   pricing_version: "litellm-live",
 *   cost_status: "calculated",
 *   cost_eur: 0.0125,
 * });
 * assert.deepEqual(pending.idempotency_key, priced.idempotency_key);
 * ```
 */
export function llmCallEvent(fields: LlmCallEventFields): EmitLlmCallArgs {
  const { event_type = "llm.call", ...call } = withoutPlace(fields);
  const { model, prompt_tokens, completion_tokens } = call;
  return build("llm_call", call, fields, event_type, { model, prompt_tokens, completion_tokens });
}

/**
 * Arguments for `recordConnectorCall`; the key hashes `{ connector_id, capability, envelope }`.
 *
 * @param fields The call and, optionally, its event type and where it sits.
 * @returns Valid arguments.
 * @throws {ContextMissingError} When the tenant, trace or span is neither given nor current.
 * @throws {ValidationError} When a field breaks the contract (the cost rules included).
 *
 * @example Outside any context, everything is explicit
 * ```ts
 * import assert from "node:assert/strict";
 * import { connectorCallEvent } from "@tracepulse/plm-shared";
 *
 * const call = connectorCallEvent({
 *   connector_id: "3dx-rest",
 *   capability: "read.parts",
 *   envelope: { part: "P-1" },
 *   pricing_version: "unavailable",
 *   cost_status: "unavailable",
 *   tenant_id: "0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e",
 *   trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
 *   span_id: "00f067aa0ba902b7",
 * });
 * assert.equal(call.idempotency_key.event_type, "connector.call");
 * assert.throws(() => connectorCallEvent({ ...call, span_id: undefined }), {
 *   code: "TRACE_CONTEXT_MISSING",
 * });
 * ```
 */
export function connectorCallEvent(fields: ConnectorCallEventFields): EmitConnectorCallArgs {
  const { event_type = "connector.call", ...call } = withoutPlace(fields);
  const envelope = call.envelope ?? {};
  const { connector_id, capability } = call;
  return build("connector_call", { ...call, envelope }, fields, event_type, {
    connector_id,
    capability,
    envelope,
  });
}

/** The fields without where the event sits. */
function withoutPlace<T extends EventPlacement>(fields: T): Omit<T, keyof EventPlacement> {
  const { tenant_id: _tenant, trace_id: _trace, span_id: _span, ...event } = fields;
  return event;
}

/** The event's fields with its span and key, checked against the kind's contract. */
function build<T>(
  kind: EmitKind,
  event: object,
  place: EventPlacement,
  eventType: string,
  content: unknown,
): T {
  const context = place.trace_id === undefined || place.span_id === undefined
    ? requireTraceContext()
    : undefined;
  const spanId = place.span_id ?? (context?.spanId as string);
  const { schema, contract } = EMIT_KINDS[kind];
  return parseContract(schema, contract, {
    ...event,
    span_id: spanId,
    idempotency_key: {
      tenant_id: place.tenant_id ?? requireTenant(),
      trace_id: place.trace_id ?? context?.traceId,
      span_id: spanId,
      event_type: eventType,
      content_hash: computeContentHash(content),
    },
  }) as T;
}
