/**
 * The kernel API: the four events every product line records, their strict schemas and the
 * `KernelEmitter` interface (implemented by `MemoryKernelEmitter` here and by
 * `PostgresKernelEmitter` in `@tracepulse/plm-shared/postgres`).
 *
 * Field names are snake_case on the wire and in SQL, because the Python product lines send the
 * same JSON. Every schema is strict: an unknown field is refused, never stored.
 *
 * @module
 */
import {
  connectorCallArgsSchema,
  governanceArgsSchema,
  llmCallArgsSchema,
  telemetryArgsSchema,
} from "./_kernel_api_schemas.ts";
import type { ContractSchema } from "./contract_schema.ts";
import type { IdempotencyKey } from "./idempotency.ts";
import type { CostStatus, PricingVersion } from "./vocabulary.ts";

/** The table an event lives in; telemetry and governance events share `telemetry_events`. */
export type EventTable = "telemetry_events" | "llm_calls" | "connector_calls";

/** Arguments of {@link KernelEmitter.emitTelemetry}. */
export interface EmitTelemetryArgs {
  /** What happened (`"skill.run.started"`); equals `idempotency_key.event_type`. */
  readonly event_type: string;
  /** The span the event belongs to; equals `idempotency_key.span_id`. */
  readonly span_id: string;
  /** A built-in capability (`"llm.call"`) or an extension starting with `"x."`. */
  readonly capability: string;
  /** Event details, a JSON object (default `{}`). */
  readonly payload: Readonly<Record<string, unknown>>;
  /** The event's idempotency key. */
  readonly idempotency_key: IdempotencyKey;
}

/** Arguments of {@link KernelEmitter.emitGovernance}. */
export interface EmitGovernanceArgs {
  /** What was decided (`"hitl.approved"`); equals `idempotency_key.event_type`. */
  readonly governance_event_type: string;
  /** The span the event belongs to; equals `idempotency_key.span_id`. */
  readonly span_id: string;
  /** Event details, a JSON object (default `{}`). */
  readonly payload: Readonly<Record<string, unknown>>;
  /** The event's idempotency key. */
  readonly idempotency_key: IdempotencyKey;
}

/** Arguments of {@link KernelEmitter.recordLlmCall}. */
export interface EmitLlmCallArgs {
  /** The span of the call; equals `idempotency_key.span_id`. */
  readonly span_id: string;
  /** The model as priced (`"gpt-4o"`, `"anthropic/claude-sonnet-4"`). */
  readonly model: string;
  /** Input tokens, an integer >= 0. */
  readonly prompt_tokens: number;
  /** Output tokens, an integer >= 0. */
  readonly completion_tokens: number;
  /** Where the price comes from; `"unavailable"` exactly when `cost_status` is. */
  readonly pricing_version: PricingVersion;
  /** Cost in EUR, >= 0; required when `cost_status` is `"calculated"`, else null or absent. */
  readonly cost_eur?: number | null;
  /** Where the cost stands. */
  readonly cost_status: CostStatus;
  /** The call's idempotency key. */
  readonly idempotency_key: IdempotencyKey;
}

/** Arguments of {@link KernelEmitter.recordConnectorCall}. */
export interface EmitConnectorCallArgs {
  /** The span of the call; equals `idempotency_key.span_id`. */
  readonly span_id: string;
  /** The connector (`"3dx-rest"`). */
  readonly connector_id: string;
  /** What the call did (`"read.parts"`): built-in or starting with `"x."`. */
  readonly capability: string;
  /** Call details, a JSON object (default `{}`). */
  readonly envelope: Readonly<Record<string, unknown>>;
  /** Where the price comes from; `"unavailable"` exactly when `cost_status` is. */
  readonly pricing_version: PricingVersion;
  /** Cost in EUR, >= 0; required when `cost_status` is `"calculated"`, else null or absent. */
  readonly cost_eur?: number | null;
  /** Where the cost stands. */
  readonly cost_status: CostStatus;
  /** The call's idempotency key. */
  readonly idempotency_key: IdempotencyKey;
}

/**
 * Schema of {@link EmitTelemetryArgs}: strict; `idempotency_key.span_id` must equal `span_id`
 * and `idempotency_key.event_type` must equal `event_type`; `payload` must be plain JSON.
 *
 * @example Payload defaults to {}; the key must match the event
 * ```ts
 * import assert from "node:assert/strict";
 * import { computeContentHash } from "./idempotency.ts";
 * import { EmitTelemetryArgs } from "./kernel_api.ts";
 *
 * const args = EmitTelemetryArgs.parse({
 *   event_type: "skill.run.started",
 *   span_id: "00f067aa0ba902b7",
 *   capability: "read.bom",
 *   idempotency_key: {
 *     tenant_id: "0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e",
 *     trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
 *     span_id: "00f067aa0ba902b7",
 *     event_type: "skill.run.started",
 *     content_hash: computeContentHash({}),
 *   },
 * });
 * assert.deepEqual(args.payload, {});
 * assert.equal(EmitTelemetryArgs.safeParse({ ...args, span_id: "0000aaaa" }).success, false);
 * assert.equal(EmitTelemetryArgs.safeParse({ ...args, paylod: {} }).success, false);
 * ```
 */
export const EmitTelemetryArgs: ContractSchema<EmitTelemetryArgs> = telemetryArgsSchema;

/**
 * Schema of {@link EmitGovernanceArgs}: strict; `idempotency_key.span_id` must equal `span_id`
 * and `idempotency_key.event_type` must equal `governance_event_type`.
 *
 * @example The key's event type is the governance event type
 * ```ts
 * import assert from "node:assert/strict";
 * import { computeContentHash } from "./idempotency.ts";
 * import { EmitGovernanceArgs } from "./kernel_api.ts";
 *
 * const payload = { approver: "u-42" };
 * const args = {
 *   governance_event_type: "hitl.approved",
 *   span_id: "00f067aa0ba902b7",
 *   payload,
 *   idempotency_key: {
 *     tenant_id: "0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e",
 *     trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
 *     span_id: "00f067aa0ba902b7",
 *     event_type: "hitl.approved",
 *     content_hash: computeContentHash(payload),
 *   },
 * };
 * assert.equal(EmitGovernanceArgs.safeParse(args).success, true);
 * assert.equal(
 *   EmitGovernanceArgs.safeParse({ ...args, governance_event_type: "hitl.rejected" }).success,
 *   false,
 * );
 * ```
 */
export const EmitGovernanceArgs: ContractSchema<EmitGovernanceArgs> = governanceArgsSchema;

/**
 * Schema of {@link EmitLlmCallArgs}: strict, with the cost rules (`"calculated"` needs
 * `cost_eur`; `"pending"` and `"unavailable"` carry none; `pricing_version` is
 * `"unavailable"` exactly when `cost_status` is).
 *
 * @example A calculated cost needs cost_eur
 * ```ts
 * import assert from "node:assert/strict";
 * import { computeContentHash } from "./idempotency.ts";
 * import { EmitLlmCallArgs } from "./kernel_api.ts";
 *
 * const call = {
 *   span_id: "00f067aa0ba902b7",
 *   model: "gpt-4o",
 *   prompt_tokens: 1200,
 *   completion_tokens: 300,
 *   pricing_version: "litellm-live",
 *   cost_eur: 0.0041,
 *   cost_status: "calculated",
 *   idempotency_key: {
 *     tenant_id: "0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e",
 *     trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
 *     span_id: "00f067aa0ba902b7",
 *     event_type: "llm.call",
 *     content_hash: computeContentHash({ model: "gpt-4o", tokens: [1200, 300] }),
 *   },
 * };
 * assert.equal(EmitLlmCallArgs.parse(call).cost_eur, 0.0041);
 * assert.equal(EmitLlmCallArgs.safeParse({ ...call, cost_eur: null }).success, false);
 * ```
 */
export const EmitLlmCallArgs: ContractSchema<EmitLlmCallArgs> = llmCallArgsSchema;

/**
 * Schema of {@link EmitConnectorCallArgs}: strict, with the same cost rules as LLM calls;
 * `envelope` defaults to `{}`.
 *
 * @example An unknown price is "unavailable" on both fields
 * ```ts
 * import assert from "node:assert/strict";
 * import { computeContentHash } from "./idempotency.ts";
 * import { EmitConnectorCallArgs } from "./kernel_api.ts";
 *
 * const call = {
 *   span_id: "00f067aa0ba902b7",
 *   connector_id: "3dx-rest",
 *   capability: "read.parts",
 *   pricing_version: "unavailable",
 *   cost_status: "unavailable",
 *   idempotency_key: {
 *     tenant_id: "0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e",
 *     trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
 *     span_id: "00f067aa0ba902b7",
 *     event_type: "connector.call",
 *     content_hash: computeContentHash({ part: "P-1" }),
 *   },
 * };
 * assert.deepEqual(EmitConnectorCallArgs.parse(call).envelope, {});
 * assert.equal(
 *   EmitConnectorCallArgs.safeParse({ ...call, pricing_version: "litellm-live" }).success,
 *   false,
 * );
 * ```
 */
export const EmitConnectorCallArgs: ContractSchema<EmitConnectorCallArgs> = connectorCallArgsSchema;

/**
 * Records kernel events exactly once per idempotency key. Every method validates its
 * argument first (a `ValidationError` names each bad field; nothing is written), then:
 * the same key again returns normally and writes nothing (replay); the same tenant, trace,
 * span and event type with another key throws `IdempotencyConflict` (conflict).
 *
 * @example Replay is silent, a conflict throws
 * ```ts
 * import assert from "node:assert/strict";
 * import { computeContentHash } from "./idempotency.ts";
 * import type { KernelEmitter } from "./kernel_api.ts";
 * import { MemoryKernelEmitter } from "./memory_kernel_emitter.ts";
 *
 * const tenantId = "0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e";
 * const emitter: KernelEmitter = new MemoryKernelEmitter({ tenantId });
 * const event = (payload: Record<string, unknown>) => ({
 *   event_type: "skill.run.started",
 *   span_id: "00f067aa0ba902b7",
 *   capability: "read.bom",
 *   payload,
 *   idempotency_key: {
 *     tenant_id: tenantId,
 *     trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
 *     span_id: "00f067aa0ba902b7",
 *     event_type: "skill.run.started",
 *     content_hash: computeContentHash(payload),
 *   },
 * });
 * await emitter.emitTelemetry(event({ skill: "bom-diff" }));
 * await emitter.emitTelemetry(event({ skill: "bom-diff" })); // replay: no new row
 * await assert.rejects(emitter.emitTelemetry(event({ skill: "other" })), {
 *   code: "IDEMPOTENCY_CONFLICT",
 * });
 * ```
 */
export interface KernelEmitter {
  /**
   * Record a telemetry event in `telemetry_events`.
   *
   * @param args The event; `payload` may be left out.
   * @returns Once the event is stored (or was already).
   * @throws {ValidationError} When `args` breaks the contract or its key is another tenant's.
   * @throws {IdempotencyConflict} When the event's identity was stored with other content.
   */
  emitTelemetry(
    args: Omit<EmitTelemetryArgs, "payload"> & { readonly payload?: Record<string, unknown> },
  ): Promise<void>;
  /**
   * Record a governance event in `telemetry_events`.
   *
   * @param args The event; `payload` may be left out.
   * @returns Once the event is stored (or was already).
   * @throws {ValidationError} When `args` breaks the contract or its key is another tenant's.
   * @throws {IdempotencyConflict} When the event's identity was stored with other content.
   */
  emitGovernance(
    args: Omit<EmitGovernanceArgs, "payload"> & { readonly payload?: Record<string, unknown> },
  ): Promise<void>;
  /**
   * Record an LLM call in `llm_calls`.
   *
   * @param args The call.
   * @returns Once the call is stored (or was already).
   * @throws {ValidationError} When `args` breaks the contract or its key is another tenant's.
   * @throws {IdempotencyConflict} When the call's identity was stored with other content.
   */
  recordLlmCall(args: EmitLlmCallArgs): Promise<void>;
  /**
   * Record a connector call in `connector_calls`.
   *
   * @param args The call; `envelope` may be left out.
   * @returns Once the call is stored (or was already).
   * @throws {ValidationError} When `args` breaks the contract or its key is another tenant's.
   * @throws {IdempotencyConflict} When the call's identity was stored with other content.
   */
  recordConnectorCall(
    args:
      & Omit<EmitConnectorCallArgs, "envelope">
      & { readonly envelope?: Record<string, unknown> },
  ): Promise<void>;
}

/** One event of a batch: the method it stands for (`kind`) and that method's arguments. */
export type KernelEvent =
  | { readonly kind: "telemetry"; readonly args: Parameters<KernelEmitter["emitTelemetry"]>[0] }
  | { readonly kind: "governance"; readonly args: Parameters<KernelEmitter["emitGovernance"]>[0] }
  | { readonly kind: "llm_call"; readonly args: EmitLlmCallArgs }
  | {
    readonly kind: "connector_call";
    readonly args: Parameters<KernelEmitter["recordConnectorCall"]>[0];
  };

/** What happened to one event of a batch. */
export type EmitOutcome = "inserted" | "replayed" | "conflict";
