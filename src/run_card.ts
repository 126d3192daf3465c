/**
 * `RunCardV1`: one run's compliance card, the row of `mcrc_v1_view` (MCRC v1) as both emitters'
 * `runCard` return it. Columns are grouped §1 identity, §2 actor, §3 quality, §4 telemetry,
 * §5 LLM usage and cost, §6 connector usage and cost, §7 artifacts, §8 governance.
 *
 * Money is exact: a decimal string with 10 places (`"0.0125000000"`), as PostgreSQL's
 * `numeric(20, 10)` sums come back; never a float. Times are RFC 3339 strings in UTC
 * (`"2026-12-01T16:47:57.123456Z"`). Counts, tokens and bytes are integers.
 *
 * @module
 */
import { runCardV1Schema } from "./_run_card_schema.ts";
import type { ContractSchema } from "./contract_schema.ts";
import type { ActorKind, QualityLevel } from "./vocabulary.ts";

/** One run's MCRC v1 card (the `mcrc_v1_view` row), frozen. */
export interface RunCardV1 {
  /** §1 identity: the tenant (lowercase UUID). */
  readonly tenant_id: string;
  /** §1 identity: `runs.id`, in decimal digits (a bigint). */
  readonly run_id: string;
  /** §1 identity: the trace of the run. */
  readonly trace_id: string;
  /** §1 identity: the product line that ran it. */
  readonly product_line: string | null;
  /** §1 identity: start time. */
  readonly started_at: string;
  /** §1 identity: end time, once ended. */
  readonly ended_at: string | null;
  /** §2 actor: human, agent, system or connector. */
  readonly actor_kind: ActorKind;
  /** §2 actor: the actor's id. */
  readonly actor_id: string;
  /** §3 quality: the level reached. */
  readonly quality_level: QualityLevel;
  /** §4 telemetry: telemetry events. */
  readonly telemetry_event_count: number;
  /** §4 telemetry: capabilities used, sorted. */
  readonly telemetry_capabilities: readonly string[];
  /** §4 telemetry: first event time. */
  readonly first_telemetry_at: string | null;
  /** §4 telemetry: last event time. */
  readonly last_telemetry_at: string | null;
  /** §5 LLM: calls. */
  readonly llm_call_count: number;
  /** §5 LLM: models used, sorted. */
  readonly llm_models: readonly string[];
  /** §5 LLM: prompt tokens. */
  readonly llm_prompt_tokens: number;
  /** §5 LLM: completion tokens. */
  readonly llm_completion_tokens: number;
  /** §5 LLM: cost in EUR of the calculated calls, 10 decimal places. */
  readonly llm_cost_eur: string;
  /** §5 LLM: calls whose cost is pending. */
  readonly llm_cost_pending_count: number;
  /** §5 LLM: calls whose cost is unavailable. */
  readonly llm_cost_unavailable_count: number;
  /** §6 connectors: calls. */
  readonly connector_call_count: number;
  /** §6 connectors: connectors used, sorted. */
  readonly connector_ids: readonly string[];
  /** §6 connectors: cost in EUR of the calculated calls, 10 decimal places. */
  readonly connector_cost_eur: string;
  /** §6 connectors: calls whose cost is pending. */
  readonly connector_cost_pending_count: number;
  /** §6 connectors: calls whose cost is unavailable. */
  readonly connector_cost_unavailable_count: number;
  /** §7 artifacts: artifacts recorded for the run. */
  readonly artifact_count: number;
  /** §7 artifacts: their total size in bytes. */
  readonly artifact_bytes: number;
  /** §8 governance: governance events. */
  readonly governance_event_count: number;
  /** §8 governance: type of the latest governance event. */
  readonly last_governance_event_type: string | null;
  /** §8 governance: time of the latest governance event. */
  readonly last_governance_event_at: string | null;
}

/**
 * Schema of {@link RunCardV1}: strict; money as decimal strings with 10 places, times as
 * RFC 3339 UTC strings.
 *
 * @example Money is a decimal string, never a float
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryKernelEmitter, RunCardV1 } from "@tracepulse/plm-shared";
 *
 * const emitter = new MemoryKernelEmitter({ tenantId: "0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e" });
 * const trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
 * await emitter.startRun({ trace_id, product_line: "workbench", actor_kind: "human", actor_id: "u-42" });
 * const card = await emitter.runCard(trace_id);
 * assert.equal(RunCardV1.parse(card).llm_cost_eur, "0.0000000000");
 * assert.equal(RunCardV1.safeParse({ ...card, llm_cost_eur: 0 }).success, false);
 * ```
 */
export const RunCardV1: ContractSchema<RunCardV1> = runCardV1Schema;
