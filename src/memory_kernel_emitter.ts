/**
 * `MemoryKernelEmitter`: a `KernelEmitter` that keeps events in memory, with exactly the
 * replay and conflict semantics of the PostgreSQL emitter, for product-line tests.
 *
 * @module
 */
import { z } from "zod";
import { tenantId } from "./_contract_schema_fields.ts";
import {
  EMIT_KINDS,
  type EmitArgs,
  type EmitKind,
  parseEmitArgs,
  parseEmitBatch,
} from "./_kernel_api_schemas.ts";
import { parseContract } from "./_contract_schema_parse.ts";
import { compareQuality, parseLifecycleArgs } from "./_lifecycle_schemas.ts";
import { add, type Decimal, roundHalfUp, toDecimal } from "./_pricing_decimal.ts";
import { freezeRunCard } from "./_run_card_schema.ts";
import {
  ArtifactConflict,
  CostNotPending,
  CostSettlementConflict,
  IdempotencyConflict,
  QualityRegression,
  RunConflict,
  UnknownCall,
  UnknownRun,
  UnknownTenant,
} from "./errors.ts";
import { idempotencyKeyToString } from "./idempotency.ts";
import type {
  EmitConnectorCallArgs,
  EmitGovernanceArgs,
  EmitLlmCallArgs,
  EmitOutcome,
  EmitTelemetryArgs,
  EventTable,
  KernelEmitter,
  KernelEvent,
} from "./kernel_api.ts";
import type {
  EndedRun,
  EndRunArgs,
  RaisedQuality,
  RaiseQualityArgs,
  RecordArtifactArgs,
  RecordedArtifact,
  RunLifecycle,
  SettleCostArgs,
  SettledCost,
  StartedRun,
  StartRunArgs,
} from "./lifecycle.ts";
import { MemoryTenantRegistry } from "./memory_tenant_registry.ts";
import type { RunCardV1 } from "./run_card.ts";
import type { ActorKind, QualityLevel } from "./vocabulary.ts";

/** Options of {@link MemoryKernelEmitter}. */
export interface MemoryKernelEmitterOptions {
  /** The one tenant this emitter writes for (a UUID; upper case is normalised). */
  readonly tenantId: string;
  /**
   * The registered tenants: a write for a tenant it does not hold throws `UnknownTenant`.
   *
   * @default a registry of its own that holds `tenantId`
   */
  readonly tenants?: MemoryTenantRegistry;
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

const OptionsSchema = z.strictObject({
  tenantId: tenantId(),
  tenants: z.instanceof(MemoryTenantRegistry).optional(),
});

interface TableState {
  readonly rows: StoredEvent[];
  /** Key string → index in `rows`. */
  readonly keys: Map<string, number>;
  readonly identities: Set<string>;
}

interface RunState {
  readonly run_id: string;
  readonly product_line: string;
  readonly actor_kind: ActorKind;
  readonly actor_id: string;
  readonly started_at: string;
  quality_level: QualityLevel;
  ended_at: string | null;
}

interface ArtifactState {
  readonly trace_id: string;
  readonly size: number;
  readonly content_type: string;
  readonly retention_until: string | null;
}

/** Money in the card: a sum of amounts rounded as `numeric(20, 10)`, with 10 places. */
const MONEY_PLACES = 10;

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
export class MemoryKernelEmitter implements KernelEmitter, RunLifecycle {
  /** The emitter's tenant (lower-case UUID). */
  readonly tenantId: string;
  #tenants: MemoryTenantRegistry;
  #tables: Record<EventTable, TableState> = {
    telemetry_events: { rows: [], keys: new Map(), identities: new Set() },
    llm_calls: { rows: [], keys: new Map(), identities: new Set() },
    connector_calls: { rows: [], keys: new Map(), identities: new Set() },
  };
  /** Key string → when the event was stored (RFC 3339). */
  #createdAt = new Map<string, string>();
  #runs = new Map<string, RunState>();
  #artifacts = new Map<string, ArtifactState>();
  #lastRunId = 0;

  /**
   * Create an empty emitter for one tenant.
   *
   * @param options The tenant to write for, and the registry of tenants.
   * @throws {ValidationError} When `tenantId` is not a UUID (or is the nil or max UUID).
   */
  constructor(options: MemoryKernelEmitterOptions) {
    const parsed = parseContract(OptionsSchema, "MemoryKernelEmitterOptions", options);
    this.tenantId = parsed.tenantId;
    if (parsed.tenants === undefined) {
      this.#tenants = new MemoryTenantRegistry();
      this.#tenants.register({ id: this.tenantId, name: this.tenantId });
    } else {
      this.#tenants = parsed.tenants;
    }
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

  /** {@inheritDoc RunLifecycle.emitMany} */
  emitMany(events: readonly KernelEvent[]): Promise<EmitOutcome[]> {
    return this.#write(() =>
      parseEmitBatch(events, this.tenantId).map(({ kind, args }): EmitOutcome => {
        try {
          return this.#store(kind, args) ? "inserted" : "replayed";
        } catch (error) {
          if (error instanceof IdempotencyConflict) return "conflict";
          throw error;
        }
      })
    );
  }

  /** {@inheritDoc RunLifecycle.startRun} */
  startRun(args: StartRunArgs): Promise<StartedRun> {
    return this.#write(() => {
      const { trace_id, product_line, actor_kind, actor_id } = parseLifecycleArgs(
        "StartRunArgs",
        args,
        this.tenantId,
      );
      this.#requireTenant();
      const run = this.#runs.get(trace_id);
      if (run !== undefined) {
        if (
          run.product_line !== product_line || run.actor_kind !== actor_kind ||
          run.actor_id !== actor_id
        ) {
          throw new RunConflict(trace_id);
        }
        return Object.freeze({ trace_id, run_id: run.run_id, created: false });
      }
      const run_id = String(++this.#lastRunId);
      this.#runs.set(trace_id, {
        run_id,
        product_line,
        actor_kind,
        actor_id,
        started_at: new Date().toISOString(),
        quality_level: "draft",
        ended_at: null,
      });
      return Object.freeze({ trace_id, run_id, created: true });
    });
  }

  /** {@inheritDoc RunLifecycle.endRun} */
  endRun(args: EndRunArgs): Promise<EndedRun> {
    return this.#write(() => {
      const { trace_id, quality_level } = parseLifecycleArgs("EndRunArgs", args, this.tenantId);
      const run = this.#run(trace_id);
      if (quality_level !== undefined) this.#raise(trace_id, run, quality_level);
      run.ended_at ??= new Date().toISOString();
      return Object.freeze({ trace_id, quality_level: run.quality_level, ended_at: run.ended_at });
    });
  }

  /** {@inheritDoc RunLifecycle.raiseQuality} */
  raiseQuality(args: RaiseQualityArgs): Promise<RaisedQuality> {
    return this.#write(() => {
      const { trace_id, quality_level } = parseLifecycleArgs(
        "RaiseQualityArgs",
        args,
        this.tenantId,
      );
      const run = this.#run(trace_id);
      const raised = this.#raise(trace_id, run, quality_level);
      return Object.freeze({ trace_id, quality_level: run.quality_level, raised });
    });
  }

  /** {@inheritDoc RunLifecycle.recordArtifact} */
  recordArtifact(args: RecordArtifactArgs): Promise<RecordedArtifact> {
    return this.#write(() => {
      const { trace_id, artifact } = parseLifecycleArgs(
        "RecordArtifactArgs",
        args,
        this.tenantId,
      );
      this.#run(trace_id);
      const record: ArtifactState = {
        trace_id,
        size: artifact.size,
        content_type: artifact.contentType,
        retention_until: artifact.retentionUntil?.toISOString() ?? null,
      };
      const id = JSON.stringify([artifact.uri, artifact.sha256]);
      const known = this.#artifacts.get(id);
      if (known === undefined) {
        this.#artifacts.set(id, record);
        return Object.freeze({ created: true });
      }
      if (JSON.stringify(known) !== JSON.stringify(record)) {
        throw new ArtifactConflict(artifact.uri);
      }
      return Object.freeze({ created: false });
    });
  }

  /** {@inheritDoc RunLifecycle.settleCost} */
  settleCost(args: SettleCostArgs): Promise<SettledCost> {
    return this.#write(() => {
      const { table, idempotency_key, cost_status, cost_eur } = parseLifecycleArgs(
        "SettleCostArgs",
        args,
        this.tenantId,
      );
      this.#requireTenant();
      const key = idempotencyKeyToString(idempotency_key);
      const state = this.#tables[table];
      const index = state.keys.get(key);
      if (index === undefined) throw new UnknownCall(table, key);
      const row = state.rows[index];
      if (row.kind !== "llm_call" && row.kind !== "connector_call") {
        throw new UnknownCall(table, key);
      }
      const stored = row.args;
      if (stored.cost_status === "pending") {
        const settled = {
          ...stored,
          cost_status,
          ...(cost_status === "calculated"
            ? { cost_eur }
            : { cost_eur: null, pricing_version: "unavailable" as const }),
        };
        state.rows[index] = deepFreeze({ ...structuredClone(row), args: settled } as StoredEvent);
        return Object.freeze({ settled: true });
      }
      if (stored.cost_status !== cost_status) throw new CostNotPending(table, stored.cost_status);
      if (cost_status === "calculated" && money(stored.cost_eur) !== money(cost_eur)) {
        throw new CostSettlementConflict(table);
      }
      return Object.freeze({ settled: false });
    });
  }

  /** {@inheritDoc RunLifecycle.runCard} */
  runCard(trace_id?: string): Promise<RunCardV1 | undefined> {
    return new Promise((resolve) => {
      const parsed = parseLifecycleArgs("RunCardArgs", { trace_id }, this.tenantId);
      resolve(this.#card(parsed.trace_id));
    });
  }

  #card(trace_id: string): RunCardV1 | undefined {
    const run = this.#runs.get(trace_id);
    if (run === undefined) return undefined;
    const of = <T extends EventTable>(table: T) =>
      this.#tables[table].rows.filter((row) => row.trace_id === trace_id);
    const events = of("telemetry_events");
    const telemetry = events.filter((row) => row.kind === "telemetry");
    const governance = events.filter((row) => row.kind === "governance");
    const times = (rows: readonly StoredEvent[]) =>
      rows.map((row) => this.#createdAt.get(row.idempotency_key) as string);
    const calls = (table: "llm_calls" | "connector_calls") => {
      const rows = of(table).map((row) => row.args as EmitLlmCallArgs | EmitConnectorCallArgs);
      const status = (value: string) => rows.filter((call) => call.cost_status === value);
      return {
        rows,
        cost: money(
          ...status("calculated").map((call) => call.cost_eur),
        ),
        pending: status("pending").length,
        unavailable: status("unavailable").length,
      };
    };
    const llm = calls("llm_calls");
    const connector = calls("connector_calls");
    const llmArgs = llm.rows as EmitLlmCallArgs[];
    const artifacts = [...this.#artifacts.values()].filter((a) => a.trace_id === trace_id);
    const telemetryTimes = times(telemetry);
    const lastGovernance = governance.at(-1);
    return freezeRunCard({
      tenant_id: this.tenantId,
      run_id: run.run_id,
      trace_id,
      product_line: run.product_line,
      started_at: run.started_at,
      ended_at: run.ended_at,
      actor_kind: run.actor_kind,
      actor_id: run.actor_id,
      quality_level: run.quality_level,
      telemetry_event_count: telemetry.length,
      telemetry_capabilities: sortedSet(
        telemetry.map((row) => (row.args as EmitTelemetryArgs).capability),
      ),
      first_telemetry_at: telemetryTimes.at(0) ?? null,
      last_telemetry_at: telemetryTimes.at(-1) ?? null,
      llm_call_count: llmArgs.length,
      llm_models: sortedSet(llmArgs.map((call) => call.model)),
      llm_prompt_tokens: sum(llmArgs.map((call) => call.prompt_tokens)),
      llm_completion_tokens: sum(llmArgs.map((call) => call.completion_tokens)),
      llm_cost_eur: llm.cost,
      llm_cost_pending_count: llm.pending,
      llm_cost_unavailable_count: llm.unavailable,
      connector_call_count: connector.rows.length,
      connector_ids: sortedSet(
        (connector.rows as EmitConnectorCallArgs[]).map((call) => call.connector_id),
      ),
      connector_cost_eur: connector.cost,
      connector_cost_pending_count: connector.pending,
      connector_cost_unavailable_count: connector.unavailable,
      artifact_count: artifacts.length,
      artifact_bytes: sum(artifacts.map((artifact) => artifact.size)),
      governance_event_count: governance.length,
      last_governance_event_type: lastGovernance?.event_type ?? null,
      last_governance_event_at: lastGovernance === undefined ? null : times([lastGovernance])[0],
    });
  }

  /** Validate and store, reporting every failure as a rejection (never a synchronous throw). */
  #emit(kind: EmitKind, args: unknown): Promise<void> {
    return this.#write(() => {
      this.#store(kind, parseEmitArgs(kind, args, this.tenantId));
    });
  }

  /** Run a write, reporting every failure as a rejection (never a synchronous throw). */
  #write<T>(work: () => T): Promise<T> {
    return new Promise((resolve) => resolve(work()));
  }

  #requireTenant(): void {
    if (!this.#tenants.has(this.tenantId)) throw new UnknownTenant(this.tenantId);
  }

  /** The run of a trace, once the tenant is known to be registered. */
  #run(trace_id: string): RunState {
    this.#requireTenant();
    const run = this.#runs.get(trace_id);
    if (run === undefined) throw new UnknownRun(trace_id);
    return run;
  }

  /** Move a run's quality forward; `false` when it has the level already. */
  #raise(trace_id: string, run: RunState, quality_level: QualityLevel): boolean {
    const order = compareQuality(quality_level, run.quality_level);
    if (order < 0) throw new QualityRegression(trace_id, run.quality_level, quality_level);
    run.quality_level = quality_level;
    return order > 0;
  }

  /** Store parsed arguments: `true` when stored, `false` on a replay. */
  #store(kind: EmitKind, args: EmitArgs): boolean {
    this.#requireTenant();
    const body = { table: EMIT_KINDS[kind].table, kind, args } as StoredEventBody;
    const key = body.args.idempotency_key;
    const keyString = idempotencyKeyToString(key);
    const state = this.#tables[body.table];
    if (state.keys.has(keyString)) return false;
    const identity = JSON.stringify([key.tenant_id, key.trace_id, key.span_id, key.event_type]);
    if (state.identities.has(identity)) throw new IdempotencyConflict(body.table, keyString);
    state.keys.set(keyString, state.rows.length);
    state.identities.add(identity);
    this.#createdAt.set(keyString, new Date().toISOString());
    state.rows.push(deepFreeze({
      ...structuredClone(body),
      tenant_id: key.tenant_id,
      trace_id: key.trace_id,
      span_id: key.span_id,
      event_type: key.event_type,
      idempotency_key: keyString,
    }));
    return true;
  }
}

/** Distinct values in code-unit order. */
function sortedSet(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/**
 * The exact sum of amounts, each rounded to 10 places as `numeric(20, 10)` stores it, as a
 * decimal string with 10 places (`"0.0125000000"`).
 */
function money(...amounts: readonly (number | null | undefined)[]): string {
  let total: Decimal = { units: 0n, scale: MONEY_PLACES };
  for (const amount of amounts) {
    const value = toDecimal(amount ?? 0) as Decimal;
    total = add(total, roundHalfUp(value, MONEY_PLACES));
  }
  const units = total.units * 10n ** BigInt(MONEY_PLACES - total.scale);
  const digits = units.toString().padStart(MONEY_PLACES + 1, "0");
  return `${digits.slice(0, -MONEY_PLACES)}.${digits.slice(-MONEY_PLACES)}`;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
