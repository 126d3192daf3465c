/**
 * LLM and connector calls as OpenTelemetry GenAI span attributes (`gen_ai.*`), and back.
 *
 * Pinned to the OpenTelemetry semantic conventions v1.41.0, GenAI attributes (status
 * "development"; v1.42.0 moved them unchanged to the semantic-conventions-genai repository).
 * Cost attributes are not part of any released version: `gen_ai.usage.cost.*` follows the open
 * proposal open-telemetry/semantic-conventions-genai#443 (amount, ISO 4217 currency, source),
 * and the plm fields without a GenAI counterpart use the `plm.` prefix ({@link PlmAttribute}).
 *
 * @module
 */
import { z } from "zod";
import { costStatus, pricingVersion } from "./_contract_schema_fields.ts";
import { parseContract } from "./_contract_schema_parse.ts";
import type { CostRequest } from "./pricing.ts";
import type { CostStatus, PricingVersion } from "./vocabulary.ts";

/**
 * An OpenTelemetry attribute value: the same type as `AttributeValue` of
 * `@opentelemetry/api`.
 */
export type OtelAttributeValue =
  | string
  | number
  | boolean
  | Array<null | undefined | string>
  | Array<null | undefined | number>
  | Array<null | undefined | boolean>;

/** Span attributes: the same type as `Attributes` of `@opentelemetry/api`. */
export interface OtelAttributes {
  /** An attribute by name (`"gen_ai.request.model"`). */
  [name: string]: OtelAttributeValue | undefined;
}

/** The semantic conventions version the `gen_ai.*` names of this module are taken from. */
export const GEN_AI_SEMCONV_VERSION = "1.41.0";

/**
 * The attributes without a GenAI convention, under the `plm.` prefix (non-standard).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PlmAttribute } from "./otel_gen_ai.ts";
 *
 * assert.equal(PlmAttribute.TenantId, "plm.tenant_id");
 * ```
 */
export const PlmAttribute: {
  readonly TenantId: "plm.tenant_id";
  readonly Capability: "plm.capability";
  readonly CostStatus: "plm.cost_status";
  readonly PricingVersion: "plm.pricing_version";
} = Object.freeze({
  TenantId: "plm.tenant_id",
  Capability: "plm.capability",
  CostStatus: "plm.cost_status",
  PricingVersion: "plm.pricing_version",
});

/**
 * The content of an LLM call in GenAI terms: `EmitLlmCallArgs` fits, plus the token classes of
 * `CostRequest`. The usage maps to `gen_ai.request.model` (from a span: `gen_ai.response.model`
 * first), `gen_ai.usage.input_tokens` (every input token, cached ones included),
 * `gen_ai.usage.output_tokens` (every output token, reasoning ones included),
 * `gen_ai.usage.cache_read.input_tokens`, `gen_ai.usage.cache_creation.input_tokens` and
 * `gen_ai.usage.reasoning.output_tokens`.
 */
export interface GenAiLlmCall extends CostRequest {
  /** `plm.pricing_version`. */
  readonly pricing_version: PricingVersion;
  /** `gen_ai.usage.cost.amount` with `gen_ai.usage.cost.currency` `"EUR"` (proposed). */
  readonly cost_eur?: number | null;
  /** `plm.cost_status`. */
  readonly cost_status: CostStatus;
}

/** The content of a connector call in GenAI terms (an `execute_tool` span). */
export interface GenAiConnectorCall {
  /** `gen_ai.tool.name`. */
  readonly connector_id: string;
  /** `plm.capability`. */
  readonly capability: string;
  /** `plm.pricing_version`. */
  readonly pricing_version: PricingVersion;
  /** `gen_ai.usage.cost.amount` with `gen_ai.usage.cost.currency` `"EUR"` (proposed). */
  readonly cost_eur?: number | null;
  /** `plm.cost_status`. */
  readonly cost_status: CostStatus;
}

/** Options of {@link llmCallToGenAiAttributes}. */
export interface LlmCallToGenAiAttributesOptions {
  /**
   * `gen_ai.provider.name`, a well-known value of the conventions (`"openai"`,
   * `"anthropic"`, `"aws.bedrock"`, ...); the model name is never parsed for it.
   *
   * @default undefined (the attribute is left out)
   */
  readonly providerName?: string;
  /**
   * `gen_ai.operation.name`: `"chat"`, `"text_completion"`, `"generate_content"` or
   * `"embeddings"` (the operations {@link genAiCallKind} counts as LLM calls).
   *
   * @default "chat"
   */
  readonly operationName?: string;
}

/**
 * The GenAI span attributes of an LLM call: operation, provider, request model, usage (with the
 * cache and reasoning token classes when given), and cost (`plm.cost_status`,
 * `plm.pricing_version`, plus the proposed `gen_ai.usage.cost.*` in EUR with source `"local"`
 * when there is a cost). Fields of `EmitLlmCallArgs` without a GenAI meaning (`span_id`,
 * `idempotency_key`) are not written.
 *
 * @param call The call (an `EmitLlmCallArgs` fits).
 * @param options Provider and operation names.
 * @returns The attributes, ready for `span.setAttributes`.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { genAiAttributesToLlmCall, llmCallToGenAiAttributes } from "./otel_gen_ai.ts";
 *
 * const call = {
 *   model: "gpt-4o",
 *   prompt_tokens: 1200,
 *   completion_tokens: 300,
 *   cache_read_input_tokens: 1000,
 *   pricing_version: "litellm-live",
 *   cost_eur: 0.0041,
 *   cost_status: "calculated",
 * } as const;
 * const attributes = llmCallToGenAiAttributes(call, { providerName: "openai" });
 * assert.equal(attributes["gen_ai.usage.cache_read.input_tokens"], 1000);
 * assert.equal(attributes["gen_ai.usage.cost.currency"], "EUR");
 * assert.deepEqual(genAiAttributesToLlmCall(attributes), call);
 * ```
 */
export function llmCallToGenAiAttributes(
  call: GenAiLlmCall,
  options: LlmCallToGenAiAttributesOptions = {},
): OtelAttributes {
  return withoutUndefined({
    "gen_ai.operation.name": options.operationName ?? "chat",
    "gen_ai.provider.name": options.providerName,
    "gen_ai.request.model": call.model,
    "gen_ai.usage.input_tokens": call.prompt_tokens,
    "gen_ai.usage.output_tokens": call.completion_tokens,
    "gen_ai.usage.cache_read.input_tokens": call.cache_read_input_tokens,
    "gen_ai.usage.cache_creation.input_tokens": call.cache_creation_input_tokens,
    "gen_ai.usage.reasoning.output_tokens": call.reasoning_tokens,
    ...costAttributes(call),
  });
}

/**
 * The LLM call a GenAI span describes. `model` is `gen_ai.response.model` (the model that
 * answered is the one priced), else `gen_ai.request.model`. The cost is taken only from the plm
 * attributes (`plm.cost_status`, `plm.pricing_version`, and `gen_ai.usage.cost.amount` in EUR);
 * without them the call's price is unknown: `cost_status` and `pricing_version` are
 * `"unavailable"` and a foreign `gen_ai.usage.cost.*` is not used. Attribute types are checked
 * here; values (token bounds, the cost rules) are checked by the kernel schemas when emitted.
 *
 * @param attributes The span's attributes.
 * @returns The call's content.
 * @throws {ValidationError} Contract `"GenAiLlmCallAttributes"`, naming each attribute that is
 *   missing (a model, input and output tokens) or has the wrong type, or a cost amount not in
 *   EUR.
 *
 * @example A span without plm cost attributes has no known price
 * ```ts
 * import assert from "node:assert/strict";
 * import { genAiAttributesToLlmCall } from "./otel_gen_ai.ts";
 *
 * const call = genAiAttributesToLlmCall({
 *   "gen_ai.operation.name": "chat",
 *   "gen_ai.request.model": "gpt-4o",
 *   "gen_ai.response.model": "gpt-4o-2024-08-06",
 *   "gen_ai.usage.input_tokens": 10,
 *   "gen_ai.usage.output_tokens": 2,
 * });
 * assert.equal(call.model, "gpt-4o-2024-08-06");
 * assert.equal(call.cost_status, "unavailable");
 * assert.throws(() => genAiAttributesToLlmCall({ "gen_ai.request.model": "gpt-4o" }), {
 *   code: "VALIDATION_FAILED",
 * });
 * ```
 */
export function genAiAttributesToLlmCall(attributes: OtelAttributes): GenAiLlmCall {
  const parsed = parseContract(LlmAttributesSchema, "GenAiLlmCallAttributes", attributes);
  return withoutUndefined({
    model: parsed["gen_ai.response.model"] ?? parsed["gen_ai.request.model"]!,
    prompt_tokens: parsed["gen_ai.usage.input_tokens"],
    completion_tokens: parsed["gen_ai.usage.output_tokens"],
    cache_read_input_tokens: parsed["gen_ai.usage.cache_read.input_tokens"],
    cache_creation_input_tokens: parsed["gen_ai.usage.cache_creation.input_tokens"],
    reasoning_tokens: parsed["gen_ai.usage.reasoning.output_tokens"],
    ...costFields(parsed),
  });
}

/**
 * The GenAI span attributes of a connector call: an `execute_tool` operation on the tool
 * `connector_id` of type `"extension"` (agent-side calls to external APIs), `plm.capability`,
 * and the cost attributes as for LLM calls. The `envelope` is not written (call details can be
 * tenant data; the conventions only have opt-in tool arguments and results).
 *
 * @param call The call (an `EmitConnectorCallArgs` fits).
 * @returns The attributes.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   connectorCallToGenAiAttributes,
 *   genAiAttributesToConnectorCall,
 * } from "./otel_gen_ai.ts";
 *
 * const call = {
 *   connector_id: "3dx-rest",
 *   capability: "read.parts",
 *   pricing_version: "unavailable",
 *   cost_status: "unavailable",
 * } as const;
 * const attributes = connectorCallToGenAiAttributes(call);
 * assert.equal(attributes["gen_ai.operation.name"], "execute_tool");
 * assert.deepEqual(genAiAttributesToConnectorCall(attributes), call);
 * ```
 */
export function connectorCallToGenAiAttributes(call: GenAiConnectorCall): OtelAttributes {
  return withoutUndefined({
    "gen_ai.operation.name": "execute_tool",
    "gen_ai.tool.name": call.connector_id,
    "gen_ai.tool.type": "extension",
    [PlmAttribute.Capability]: call.capability,
    ...costAttributes(call),
  });
}

/**
 * The connector call an `execute_tool` span describes: `gen_ai.tool.name` is the connector,
 * `plm.capability` the capability; cost as in {@link genAiAttributesToLlmCall}.
 *
 * @param attributes The span's attributes.
 * @returns The call's content (without `envelope`).
 * @throws {ValidationError} Contract `"GenAiConnectorCallAttributes"`, naming each attribute
 *   that is missing (`gen_ai.tool.name`, `plm.capability`) or has the wrong type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { genAiAttributesToConnectorCall } from "./otel_gen_ai.ts";
 *
 * const call = genAiAttributesToConnectorCall({
 *   "gen_ai.operation.name": "execute_tool",
 *   "gen_ai.tool.name": "3dx-rest",
 *   "plm.capability": "read.parts",
 * });
 * assert.equal(call.connector_id, "3dx-rest");
 * ```
 */
export function genAiAttributesToConnectorCall(attributes: OtelAttributes): GenAiConnectorCall {
  const parsed = parseContract(ToolAttributesSchema, "GenAiConnectorCallAttributes", attributes);
  return withoutUndefined({
    connector_id: parsed["gen_ai.tool.name"],
    capability: parsed[PlmAttribute.Capability],
    ...costFields(parsed),
  });
}

/**
 * Which kernel call a span records, from its `gen_ai.operation.name`: `"llm_call"` for
 * `chat`, `text_completion`, `generate_content` and `embeddings`; `"connector_call"` for
 * `execute_tool` with a `plm.capability`; `undefined` for anything else (agent and workflow
 * spans aggregate their children's calls, a tool without a capability is not a plm connector).
 *
 * @param attributes The span's attributes.
 * @returns The kind of call, or `undefined` when the span records none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { genAiCallKind } from "./otel_gen_ai.ts";
 *
 * assert.equal(genAiCallKind({ "gen_ai.operation.name": "chat" }), "llm_call");
 * assert.equal(genAiCallKind({ "gen_ai.operation.name": "invoke_agent" }), undefined);
 * assert.equal(genAiCallKind({ "http.request.method": "GET" }), undefined);
 * ```
 */
export function genAiCallKind(
  attributes: OtelAttributes,
): "llm_call" | "connector_call" | undefined {
  const operation = attributes["gen_ai.operation.name"];
  if (typeof operation !== "string") return undefined;
  if (INFERENCE_OPERATIONS.has(operation)) return "llm_call";
  if (operation === "execute_tool" && attributes[PlmAttribute.Capability] !== undefined) {
    return "connector_call";
  }
  return undefined;
}

const INFERENCE_OPERATIONS = new Set(["chat", "text_completion", "generate_content", "embeddings"]);

const usage = z.number().optional();

const CostAttributesSchema = z.object({
  [PlmAttribute.CostStatus]: costStatus().optional(),
  [PlmAttribute.PricingVersion]: pricingVersion().optional(),
  "gen_ai.usage.cost.amount": z.number().optional(),
  "gen_ai.usage.cost.currency": z.string().optional(),
});

const LlmAttributesSchema = CostAttributesSchema.extend({
  "gen_ai.request.model": z.string().optional(),
  "gen_ai.response.model": z.string().optional(),
  "gen_ai.usage.input_tokens": z.number(),
  "gen_ai.usage.output_tokens": z.number(),
  "gen_ai.usage.cache_read.input_tokens": usage,
  "gen_ai.usage.cache_creation.input_tokens": usage,
  "gen_ai.usage.reasoning.output_tokens": usage,
}).superRefine((value, ctx) => {
  if (value["gen_ai.request.model"] === undefined && value["gen_ai.response.model"] === undefined) {
    ctx.addIssue({ code: "custom", path: ["gen_ai.request.model"], message: "expected a model" });
  }
}).superRefine(checkCurrency);

const ToolAttributesSchema = CostAttributesSchema.extend({
  "gen_ai.tool.name": z.string(),
  [PlmAttribute.Capability]: z.string(),
}).superRefine(checkCurrency);

type CostAttributes = z.output<typeof CostAttributesSchema>;

/** A plm cost amount is in EUR; a foreign cost (no `plm.cost_status`) is ignored anyway. */
function checkCurrency(value: CostAttributes, ctx: z.RefinementCtx): void {
  if (value[PlmAttribute.CostStatus] === undefined) return;
  if (value["gen_ai.usage.cost.amount"] === undefined) return;
  if (value["gen_ai.usage.cost.currency"] === "EUR") return;
  ctx.addIssue({ code: "custom", path: ["gen_ai.usage.cost.currency"], message: 'expected "EUR"' });
}

/** The cost attributes of a call; the proposed `gen_ai.usage.cost.*` only with an amount. */
function costAttributes(call: GenAiLlmCall | GenAiConnectorCall): OtelAttributes {
  const amount = typeof call.cost_eur === "number"
    ? {
      "gen_ai.usage.cost.amount": call.cost_eur,
      "gen_ai.usage.cost.currency": "EUR",
      "gen_ai.usage.cost.source": "local",
    }
    : {};
  return {
    [PlmAttribute.CostStatus]: call.cost_status,
    [PlmAttribute.PricingVersion]: call.pricing_version,
    ...amount,
  };
}

/** The cost fields of a call from its checked attributes ("unavailable" without plm ones). */
function costFields(parsed: CostAttributes) {
  const status = parsed[PlmAttribute.CostStatus];
  if (status === undefined) {
    return { pricing_version: "unavailable", cost_status: "unavailable" } as const;
  }
  return {
    pricing_version: parsed[PlmAttribute.PricingVersion] ?? "unavailable",
    cost_eur: parsed["gen_ai.usage.cost.amount"],
    cost_status: status,
  };
}

/** A copy without the `undefined` properties (attributes and hashed content must not hold them). */
function withoutUndefined<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
