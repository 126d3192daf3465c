/**
 * The run lifecycle beside the four frozen kernel methods: open a run per trace, record the
 * artifacts the store holds, settle pending costs, raise quality, end the run, read its card.
 * `RunLifecycle` is implemented by `MemoryKernelEmitter` here and by `PostgresKernelEmitter` in
 * `@tracepulse/plm-shared/postgres`, with the same semantics: every call is idempotent (the same
 * call again returns the same result and writes nothing), and a call the schema forbids is
 * refused with a typed error whose `code` is stable.
 *
 * @module
 */
import type { ArtifactInfo } from "./artifact_store.ts";
import type { IdempotencyKey } from "./idempotency.ts";
import type { EmitOutcome, KernelEvent } from "./kernel_api.ts";
import type { RunCardV1 } from "./run_card.ts";
import type { ActorKind, QualityLevel } from "./vocabulary.ts";

/** Arguments of {@link RunLifecycle.startRun}. */
export interface StartRunArgs {
  /** The run's trace. @default the current trace context's trace id */
  readonly trace_id?: string;
  /** The product line that runs it (`"workbench"`). */
  readonly product_line: string;
  /** Who acts. */
  readonly actor_kind: ActorKind;
  /** The actor's id (`"u-42"`). */
  readonly actor_id: string;
}

/** What {@link RunLifecycle.startRun} returns. */
export interface StartedRun {
  /** The run's trace. */
  readonly trace_id: string;
  /** `runs.id`, in decimal digits (a bigint). */
  readonly run_id: string;
  /** `true` when this call opened the run, `false` when it was open already. */
  readonly created: boolean;
}

/** Arguments of {@link RunLifecycle.endRun}. */
export interface EndRunArgs {
  /** The run's trace. @default the current trace context's trace id */
  readonly trace_id?: string;
  /** The quality reached, if it moves forward on the way out. */
  readonly quality_level?: QualityLevel;
}

/** What {@link RunLifecycle.endRun} returns. */
export interface EndedRun {
  /** The run's trace. */
  readonly trace_id: string;
  /** The run's quality level once ended. */
  readonly quality_level: QualityLevel;
  /** When the run ended (RFC 3339, UTC): the first `endRun`'s time, again on every replay. */
  readonly ended_at: string;
}

/** Arguments of {@link RunLifecycle.raiseQuality}. */
export interface RaiseQualityArgs {
  /** The run's trace. @default the current trace context's trace id */
  readonly trace_id?: string;
  /** The level to move to: the run's own or a later one. */
  readonly quality_level: QualityLevel;
}

/** What {@link RunLifecycle.raiseQuality} returns. */
export interface RaisedQuality {
  /** The run's trace. */
  readonly trace_id: string;
  /** The run's level now. */
  readonly quality_level: QualityLevel;
  /** `true` when this call moved the level, `false` when the run had it already. */
  readonly raised: boolean;
}

/**
 * The artifact as the store describes it: what `ArtifactStorageBackend.head` returns (its
 * other fields are ignored).
 */
export type ArtifactRecord = Pick<ArtifactInfo, "uri" | "sha256" | "size" | "contentType"> & {
  /** Retention given to `put`, if any. */
  readonly retentionUntil?: Date;
};

/** Arguments of {@link RunLifecycle.recordArtifact}. */
export interface RecordArtifactArgs {
  /** The run's trace. @default the current trace context's trace id */
  readonly trace_id?: string;
  /** The stored artifact, as `head` returns it. */
  readonly artifact: ArtifactRecord;
}

/** What {@link RunLifecycle.recordArtifact} returns. */
export interface RecordedArtifact {
  /** `true` when this call recorded it, `false` when it was recorded already. */
  readonly created: boolean;
}

/** Arguments of {@link RunLifecycle.settleCost}. */
export interface SettleCostArgs {
  /** The call's table. */
  readonly table: "llm_calls" | "connector_calls";
  /** The call's idempotency key (as it was recorded). */
  readonly idempotency_key: IdempotencyKey;
  /** The outcome: a cost was calculated, or none will be. */
  readonly cost_status: "calculated" | "unavailable";
  /** The cost in EUR (>= 0), exactly when `cost_status` is `"calculated"`. */
  readonly cost_eur?: number | null;
}

/** What {@link RunLifecycle.settleCost} returns. */
export interface SettledCost {
  /** `true` when this call settled the cost, `false` when it stood so already. */
  readonly settled: boolean;
}

/**
 * The run lifecycle of one tenant's emitter. Every call validates first (`ValidationError`,
 * `TenantMismatch` inside `withTenant` of another tenant), writes nothing when it refuses, and
 * throws `UnknownTenant` when the tenant is not registered. Calls that take `trace_id` use the
 * current trace context's trace when it is left out.
 *
 * @example Open, settle, raise, end and read a run (memory emitter)
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   llmCallEvent,
 *   MemoryKernelEmitter,
 *   newTraceContext,
 *   withTraceContext,
 * } from "@tracepulse/plm-shared";
 *
 * const emitter = new MemoryKernelEmitter({ tenantId: "0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e" });
 * await withTraceContext(newTraceContext(), async () => {
 *   await emitter.startRun({ product_line: "workbench", actor_kind: "human", actor_id: "u-42" });
 *   const call = llmCallEvent({
 *     tenant_id: emitter.tenantId,
 *     model: "gpt-4o",
 *     prompt_tokens: 1200,
 *     completion_tokens: 300,
 *     pricing_version: "litellm-live",
 *     cost_status: "pending",
 *   });
 *   await emitter.recordLlmCall(call);
 *   const settle = {
 *     table: "llm_calls",
 *     idempotency_key: call.idempotency_key,
 *     cost_status: "calculated",
 *     cost_eur: 0.0125,
 *   } as const;
 *   assert.deepEqual(await emitter.settleCost(settle), { settled: true });
 *   assert.deepEqual(await emitter.settleCost(settle), { settled: false }); // replay
 *   await emitter.raiseQuality({ quality_level: "reviewed" });
 *   await emitter.endRun({ quality_level: "validated" });
 *   const card = await emitter.runCard();
 *   assert.equal(card?.llm_cost_eur, "0.0125000000");
 *   assert.equal(card?.quality_level, "validated");
 * });
 * ```
 */
export interface RunLifecycle {
  /**
   * Open the run of a trace (one per trace and tenant).
   *
   * @param args The trace, product line and actor.
   * @returns The run; the same call again returns the same run with `created: false`.
   * @throws {RunConflict} When the trace's run was started with another product line or actor.
   * @throws {UnknownTenant} When the tenant is not registered.
   */
  startRun(args: StartRunArgs): Promise<StartedRun>;
  /**
   * End the run: `ended_at` is set once, and the quality moves forward if asked.
   *
   * @param args The trace and the quality reached.
   * @returns The ended run; again, the same `ended_at`.
   * @throws {UnknownRun} When the trace has no run.
   * @throws {QualityRegression} When `quality_level` is below the run's.
   * @throws {UnknownTenant} When the tenant is not registered.
   */
  endRun(args: EndRunArgs): Promise<EndedRun>;
  /**
   * Move the run's quality forward (or leave it where it is when equal).
   *
   * @param args The trace and the level.
   * @returns The run's level and whether this call moved it.
   * @throws {UnknownRun} When the trace has no run.
   * @throws {QualityRegression} When the level is below the run's.
   * @throws {UnknownTenant} When the tenant is not registered.
   */
  raiseQuality(args: RaiseQualityArgs): Promise<RaisedQuality>;
  /**
   * Record an artifact the store holds for the run, once per (uri, sha256); it counts in §7
   * of the card.
   *
   * @param args The trace and what `head` returned.
   * @returns Whether this call recorded it.
   * @throws {UnknownRun} When the trace has no run.
   * @throws {ArtifactConflict} When the same uri and sha256 are recorded otherwise.
   * @throws {UnknownTenant} When the tenant is not registered.
   */
  recordArtifact(args: RecordArtifactArgs): Promise<RecordedArtifact>;
  /**
   * Settle a pending LLM or connector call's cost: `calculated` (with `cost_eur`) or
   * `unavailable` (the pricing version becomes `"unavailable"` too), once.
   *
   * @param args The call's table and key and the outcome.
   * @returns Whether this call settled it; the same settlement again is `settled: false`.
   * @throws {UnknownCall} When no call has this key.
   * @throws {CostNotPending} When the call's cost is final with another status.
   * @throws {CostSettlementConflict} When it is calculated with another amount.
   * @throws {UnknownTenant} When the tenant is not registered.
   */
  settleCost(args: SettleCostArgs): Promise<SettledCost>;
  /**
   * The run's card: its `mcrc_v1_view` row, typed and frozen.
   *
   * @param trace_id The run's trace. @default the current trace context's trace id
   * @returns The card, or `undefined` when the trace has no run.
   * @throws {ValidationError} When no trace is given and none is current.
   */
  runCard(trace_id?: string): Promise<RunCardV1 | undefined>;
  /**
   * Record many events at once, with the semantics of the single methods per event, reported
   * instead of thrown. One invalid event refuses the whole batch and nothing is written.
   *
   * @param events The events, of any kinds, in any order.
   * @returns One outcome per event, in order: `"inserted"`, `"replayed"` or `"conflict"`.
   * @throws {ValidationError} When any event is invalid (paths like `"3.args.span_id"`).
   * @throws {UnknownTenant} When the tenant is not registered.
   */
  emitMany(events: readonly KernelEvent[]): Promise<EmitOutcome[]>;
}
