/**
 * Internal: the zod schema of `RunCardV1` and the check every emitter's `runCard` passes its
 * row through.
 *
 * @module
 */
import { z } from "zod";
import { actorKind, identifier, qualityLevel, tenantId } from "./_contract_schema_fields.ts";

const count = () => z.int().min(0);
const money = () => z.string().regex(/^\d+\.\d{10}$/, "expected a decimal string with 10 places");
const time = () => z.iso.datetime();

/** The schema of `RunCardV1`. */
export const runCardV1Schema = z.strictObject({
  tenant_id: tenantId(),
  run_id: z.string().regex(/^[1-9]\d*$/, "expected decimal digits"),
  trace_id: identifier(),
  product_line: identifier().nullable(),
  started_at: time(),
  ended_at: time().nullable(),
  actor_kind: actorKind(),
  actor_id: z.string(),
  quality_level: qualityLevel(),
  telemetry_event_count: count(),
  telemetry_capabilities: z.array(z.string()),
  first_telemetry_at: time().nullable(),
  last_telemetry_at: time().nullable(),
  llm_call_count: count(),
  llm_models: z.array(z.string()),
  llm_prompt_tokens: count(),
  llm_completion_tokens: count(),
  llm_cost_eur: money(),
  llm_cost_pending_count: count(),
  llm_cost_unavailable_count: count(),
  connector_call_count: count(),
  connector_ids: z.array(z.string()),
  connector_cost_eur: money(),
  connector_cost_pending_count: count(),
  connector_cost_unavailable_count: count(),
  artifact_count: count(),
  artifact_bytes: count(),
  governance_event_count: count(),
  last_governance_event_type: z.string().nullable(),
  last_governance_event_at: time().nullable(),
});

/** A checked card. */
export type CheckedRunCard = z.output<typeof runCardV1Schema>;

/**
 * Check a card built from a store's row against the schema and freeze it (arrays included).
 *
 * @param row The card's fields.
 * @returns The frozen card.
 * @throws {Error} When the row does not match: a bug of the emitter, never the caller's input.
 */
export function freezeRunCard(row: unknown): CheckedRunCard {
  const card = runCardV1Schema.parse(row);
  Object.freeze(card.telemetry_capabilities);
  Object.freeze(card.llm_models);
  Object.freeze(card.connector_ids);
  return Object.freeze(card);
}
