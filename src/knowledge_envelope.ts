/**
 * `KnowledgeEnvelopeV1`: what the Knowledge line hands to every consumer of retrieved
 * knowledge. Frozen: a new shape is a new name (`KnowledgeEnvelopeV2`).
 *
 * @module
 */
import { z } from "zod";
import {
  identifier,
  qualityLevel,
  sha256Hex,
  spanId,
  tenantId,
  traceId,
} from "./_contract_schema_fields.ts";
import { parseContract } from "./_contract_schema_parse.ts";
import type { ContractSchema } from "./contract_schema.ts";
import type { QualityLevel } from "./vocabulary.ts";

/** One retrieved piece of knowledge in a {@link KnowledgeEnvelopeV1}. */
export interface KnowledgeItemV1 {
  /** Id of the item within its source (1 to 128 printable ASCII characters, no spaces). */
  readonly item_id: string;
  /** Where the item was retrieved from. */
  readonly source: {
    /** The connector that retrieved it (`"3dx-rest"`), an identifier like `item_id`. */
    readonly connector_id: string;
    /** The item's URI in its source system. */
    readonly uri: string;
    /** When it was retrieved: RFC 3339 with `Z` or an offset. */
    readonly retrieved_at: string;
  };
  /** Media type of the content (`"text/plain"`, `"application/pdf"`). */
  readonly content_type: string;
  /** The content inline; exactly one of `text` and `artifact_uri` is present. */
  readonly text?: string;
  /** Where the content is stored (`"s3://bucket/key"`); exactly one of it and `text`. */
  readonly artifact_uri?: string;
  /** SHA-256 of the content: 64 lowercase hex digits. */
  readonly sha256: string;
  /** Relevance, 0 to 1. */
  readonly score: number;
  /** Citations backing the item (references, page anchors); may be empty. */
  readonly citations: readonly string[];
}

/** The knowledge envelope, version 1 (see the schema of the same name). */
export interface KnowledgeEnvelopeV1 {
  /** Always `"knowledge_envelope.v1"`. */
  readonly schema_version: "knowledge_envelope.v1";
  /** Id of this envelope, a UUID. */
  readonly envelope_id: string;
  /** The tenant, a UUID (lower case once parsed). */
  readonly tenant_id: string;
  /** The trace: 32 lowercase hex digits, not all zero (as in `TraceContext`). */
  readonly trace_id: string;
  /** The span that produced the envelope: 16 lowercase hex digits, not all zero. */
  readonly span_id: string;
  /** What was asked. */
  readonly query: string;
  /** What was retrieved, best first or in any order the producer documents. */
  readonly items: readonly KnowledgeItemV1[];
  /** How far the knowledge has been checked. */
  readonly quality_level: QualityLevel;
  /** When the envelope was produced: RFC 3339 with `Z` or an offset. */
  readonly produced_at: string;
  /** What produced the envelope (identifiers like `item_id`). */
  readonly producer: { readonly product_line: string; readonly version: string };
}

const timestamp = () =>
  z.iso.datetime({ offset: true, error: "expected an RFC 3339 timestamp with Z or an offset" });

const item = z.strictObject({
  item_id: identifier(),
  source: z.strictObject({
    connector_id: identifier(),
    uri: z.url(),
    retrieved_at: timestamp(),
  }),
  content_type: z.string().min(1),
  text: z.string().optional(),
  artifact_uri: z.url().optional(),
  sha256: sha256Hex(),
  score: z.number().min(0).max(1),
  citations: z.array(z.string().min(1)),
}).superRefine((value, ctx) => {
  const hasText = value.text !== undefined;
  if (hasText === (value.artifact_uri !== undefined)) {
    const got = hasText ? "both" : "neither";
    ctx.addIssue({
      code: "custom",
      message: `expected exactly one of "text" and "artifact_uri", got ${got}`,
    });
  }
}).meta({ oneOf: [{ required: ["text"] }, { required: ["artifact_uri"] }] });

const envelope = z.strictObject({
  schema_version: z.literal("knowledge_envelope.v1"),
  envelope_id: z.uuid(),
  tenant_id: tenantId(),
  trace_id: traceId(),
  span_id: spanId(),
  query: z.string().min(1),
  items: z.array(item),
  quality_level: qualityLevel(),
  produced_at: timestamp(),
  producer: z.strictObject({ product_line: identifier(), version: identifier() }),
});

/**
 * Schema of {@link KnowledgeEnvelopeV1}: a strict zod 4 schema (unknown keys are refused at
 * every level; `z.toJSONSchema` works on it, and states the one-of rule as `oneOf`).
 *
 * - `schema_version`: `"knowledge_envelope.v1"`.
 * - `envelope_id`: a UUID; `tenant_id`: a UUID, normalised to lower case, not nil or max.
 * - `trace_id` / `span_id`: 32 / 16 lowercase hex digits, not all zero (as in `TraceContext`).
 * - `query`: what was asked (not empty).
 * - `items[]`: `item_id`, `source` (`connector_id`, `uri`, `retrieved_at`), `content_type`
 *   (a media type), exactly one of `text` and `artifact_uri` (a URI, e.g. `s3://bucket/key`),
 *   `sha256` (64 lowercase hex digits of the content), `score` (0 to 1), `citations` (strings).
 * - `quality_level`: `"draft"`, `"reviewed"`, `"validated"` or `"released"`.
 * - `produced_at`, `source.retrieved_at`: RFC 3339 timestamps with `Z` or an offset.
 * - `producer`: `product_line` and `version` of what produced the envelope.
 *
 * Identifiers (`item_id`, `connector_id`, `product_line`, `version`) are 1 to 128 printable
 * ASCII characters without spaces.
 *
 * @example Check an envelope
 * ```ts
 * import assert from "node:assert/strict";
 * import { KnowledgeEnvelopeV1 } from "./knowledge_envelope.ts";
 *
 * const envelope: KnowledgeEnvelopeV1 = KnowledgeEnvelopeV1.parse({
 *   schema_version: "knowledge_envelope.v1",
 *   envelope_id: "6f1c1a52-8d2b-4c44-9a51-2f7e0c3d9b10",
 *   tenant_id: "0b9c2f4e-6a1d-4c3e-9f7a-2d5b8e1c4a60",
 *   trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
 *   span_id: "00f067aa0ba902b7",
 *   query: "torque of bolt M8",
 *   items: [],
 *   quality_level: "draft",
 *   produced_at: "2025-03-01T10:00:00Z",
 *   producer: { product_line: "knowledge", version: "1.0.0" },
 * });
 * assert.equal(envelope.items.length, 0);
 * ```
 */
export const KnowledgeEnvelopeV1: ContractSchema<KnowledgeEnvelopeV1> = envelope;

/**
 * Check an untrusted value against {@link KnowledgeEnvelopeV1}.
 *
 * @param value The value (for example `await request.json()`).
 * @returns The envelope, with `tenant_id` in lower case.
 * @throws {ValidationError} When the value does not match; `issues` names every field path
 *   (`"items.0.score"`).
 *
 * @example Refusals name the field path
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseKnowledgeEnvelopeV1 } from "./knowledge_envelope.ts";
 *
 * assert.throws(
 *   () => parseKnowledgeEnvelopeV1({ schema_version: "knowledge_envelope.v2" }),
 *   (error: any) =>
 *     error.code === "VALIDATION_FAILED" && error.issues[0].path === "schema_version",
 * );
 * ```
 */
export function parseKnowledgeEnvelopeV1(value: unknown): KnowledgeEnvelopeV1 {
  return parseContract(envelope, "KnowledgeEnvelopeV1", value);
}
