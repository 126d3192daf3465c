/**
 * `MemoryKernelEmitter`: a `KernelEmitter` that keeps events in memory, with exactly the
 * replay and conflict semantics of the PostgreSQL emitter, for product-line tests.
 *
 * @module
 */
import { z } from "zod";
import { tenantId } from "./_contract_schema_fields.ts";
import { EMIT_KINDS, type EmitKind, parseEmitArgs } from "./_kernel_api_schemas.ts";
import { parseContract } from "./_contract_schema_parse.ts";
import { IdempotencyConflict } from "./errors.ts";
import { idempotencyKeyToString } from "./idempotency.ts";
import type {
  EmitConnectorCallArgs,
  EmitGovernanceArgs,
  EmitLlmCallArgs,
  EmitTelemetryArgs,
  EventTable,
  KernelEmitter,
} from "./kernel_api.ts";

/** Options of {@link MemoryKernelEmitter}. */
export interface MemoryKernelEmitterOptions {
  /** The one tenant this emitter writes for (a UUID; upper case is normalised). */
  readonly tenantId: string;
}

/** The columns every stored event has. */
export interface StoredEventColumns {
  /** The tenant (lower-case UUID). */
  readonly tenant_id: string;
  /** From the idempotency key. */
  readonly trace_id: string;
  /** From the idempotency key. */
  readonly span_id: string;
  /** From the idempotency key (for governance events: the governance event type). */
  readonly event_type: string;
  /** `idempotencyKeyToString` of the key, as the PostgreSQL emitter stores it. */
  readonly idempotency_key: string;
}

/** One stored event, frozen: its table, its kind and the validated arguments. */
export type StoredEvent =
  & StoredEventColumns
  & (
    | {
      readonly table: "telemetry_events";
      readonly kind: "telemetry";
      readonly args: EmitTelemetryArgs;
    }
    | {
      readonly table: "telemetry_events";
      readonly kind: "governance";
      readonly args: EmitGovernanceArgs;
    }
    | { readonly table: "llm_calls"; readonly kind: "llm_call"; readonly args: EmitLlmCallArgs }
    | {
      readonly table: "connector_calls";
      readonly kind: "connector_call";
      readonly args: EmitConnectorCallArgs;
    }
  );

/** A stored event without its columns (one member per kind). */
type StoredEventBody = StoredEvent extends infer Event
  ? Event extends StoredEvent ? Omit<Event, keyof StoredEventColumns> : never
  : never;

const OptionsSchema = z.strictObject({ tenantId: tenantId() });

interface TableState {
  readonly rows: StoredEvent[];
  readonly keys: Set<string>;
  readonly identities: Set<string>;
}

/**
 * A {@link KernelEmitter} for one tenant that keeps events in memory. Each method validates
 * its argument (a `ValidationError` names every bad field), refuses a key of another tenant
 * (`ValidationError` on `idempotency_key.tenant_id`), returns normally for a replay (same key
 * string: nothing new is stored) and throws `IdempotencyConflict` when the same tenant, trace,
 * span and event type were stored with another key. Telemetry and governance events share the
 * table `telemetry_events`, so they can conflict with each other, as in PostgreSQL.
 *
 * @example Record, replay and read back
 * ```ts
 * import assert from "node:assert/strict";
 * import { computeContentHash } from "./idempotency.ts";
 * import { MemoryKernelEmitter } from "./memory_kernel_emitter.ts";
 *
 * const emitter = new MemoryKernelEmitter({ tenantId: "0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e" });
 * const call = {
 *   span_id: "00f067aa0ba902b7",
 *   model: "gpt-4o",
 *   prompt_tokens: 1200,
 *   completion_tokens: 300,
 *   pricing_version: "unavailable",
 *   cost_status: "unavailable",
 *   idempotency_key: {
 *     tenant_id: emitter.tenantId,
 *     trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
 *     span_id: "00f067aa0ba902b7",
 *     event_type: "llm.call",
 *     content_hash: computeContentHash({ model: "gpt-4o", tokens: [1200, 300] }),
 *   },
 * } as const;
 * await emitter.recordLlmCall(call);
 * await emitter.recordLlmCall(call);
 * const rows = emitter.rows("llm_calls");
 * assert.equal(rows.length, 1);
 * assert.equal(rows[0].kind === "llm_call" && rows[0].args.model, "gpt-4o");
 * ```
 */
export class MemoryKernelEmitter implements KernelEmitter {
  /** The emitter's tenant (lower-case UUID). */
  readonly tenantId: string;
  #tables: Record<EventTable, TableState> = {
    telemetry_events: { rows: [], keys: new Set(), identities: new Set() },
    llm_calls: { rows: [], keys: new Set(), identities: new Set() },
    connector_calls: { rows: [], keys: new Set(), identities: new Set() },
  };

  /**
   * Create an empty emitter for one tenant.
   *
   * @param options The tenant to write for.
   * @throws {ValidationError} When `tenantId` is not a UUID (or is the nil or max UUID).
   */
  constructor(options: MemoryKernelEmitterOptions) {
    this.tenantId = parseContract(OptionsSchema, "MemoryKernelEmitterOptions", options).tenantId;
  }

  /** {@inheritDoc KernelEmitter.emitTelemetry} */
  emitTelemetry(
    args: Omit<EmitTelemetryArgs, "payload"> & { readonly payload?: Record<string, unknown> },
  ): Promise<void> {
    return this.#emit("telemetry", args);
  }

  /** {@inheritDoc KernelEmitter.emitGovernance} */
  emitGovernance(
    args: Omit<EmitGovernanceArgs, "payload"> & { readonly payload?: Record<string, unknown> },
  ): Promise<void> {
    return this.#emit("governance", args);
  }

  /** {@inheritDoc KernelEmitter.recordLlmCall} */
  recordLlmCall(args: EmitLlmCallArgs): Promise<void> {
    return this.#emit("llm_call", args);
  }

  /** {@inheritDoc KernelEmitter.recordConnectorCall} */
  recordConnectorCall(
    args:
      & Omit<EmitConnectorCallArgs, "envelope">
      & { readonly envelope?: Record<string, unknown> },
  ): Promise<void> {
    return this.#emit("connector_call", args);
  }

  /**
   * The events stored in a table, oldest first.
   *
   * @param table The table to read.
   * @returns A frozen snapshot; the events themselves are frozen deep copies.
   */
  rows(table: EventTable): readonly StoredEvent[] {
    return Object.freeze([...this.#tables[table].rows]);
  }

  /** Validate and store, reporting every failure as a rejection (never a synchronous throw). */
  #emit(kind: EmitKind, args: unknown): Promise<void> {
    return new Promise((resolve) => {
      const parsed = parseEmitArgs(kind, args, this.tenantId);
      this.#store({ table: EMIT_KINDS[kind].table, kind, args: parsed } as StoredEventBody);
      resolve();
    });
  }

  #store(body: StoredEventBody): void {
    const key = body.args.idempotency_key;
    const keyString = idempotencyKeyToString(key);
    const state = this.#tables[body.table];
    if (state.keys.has(keyString)) return;
    const identity = JSON.stringify([key.tenant_id, key.trace_id, key.span_id, key.event_type]);
    if (state.identities.has(identity)) throw new IdempotencyConflict(body.table, keyString);
    state.keys.add(keyString);
    state.identities.add(identity);
    state.rows.push(deepFreeze({
      ...structuredClone(body),
      tenant_id: key.tenant_id,
      trace_id: key.trace_id,
      span_id: key.span_id,
      event_type: key.event_type,
      idempotency_key: keyString,
    }));
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
