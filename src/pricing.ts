/**
 * Pricing: EUR cost of an LLM call from a price table, exact to 10 decimal places. Tables come
 * from LiteLLM's price map (`model_prices_and_context_window.json`, converted from USD with an
 * explicit rate) or from static overrides; an unknown model gets no number, never a guess.
 *
 * @module
 */
import { z } from "zod";
import { formatDecimal, toDecimal } from "./_pricing_decimal.ts";
import type { ModelPrice, PriceOverride, PriceTable, PricingProvenance } from "./price_table.ts";
import {
  costEur,
  findPrice,
  freezeTable,
  modelPriceFromLiteLlm,
  priceTableDigest,
  readJsonObject,
  readOverrides,
  takenAtText,
} from "./_pricing_table.ts";
import { parseContract } from "./_contract_schema_parse.ts";
import { ValidationError } from "./errors.ts";
import type { CostStatus, PricingVersion } from "./vocabulary.ts";

/** The usage to price (an `EmitLlmCallArgs` fits: other fields are ignored). */
export interface CostRequest {
  /** Model name, optionally with one provider prefix (`"openai/gpt-4o"`). */
  readonly model: string;
  /** Prompt (input) tokens, an integer >= 0. */
  readonly prompt_tokens: number;
  /** Completion (output) tokens, an integer >= 0. */
  readonly completion_tokens: number;
  /** Prompt tokens read from the provider's cache, counted inside `prompt_tokens`. */
  readonly cache_read_input_tokens?: number;
  /** Prompt tokens written to the provider's cache, counted inside `prompt_tokens`. */
  readonly cache_creation_input_tokens?: number;
  /** Reasoning (thinking) tokens, counted inside `completion_tokens`. */
  readonly reasoning_tokens?: number;
}

/** The cost of a call; spreads into `EmitLlmCallArgs`. */
export interface ComputedCost {
  /** EUR rounded half up to 10 decimal places; `null` when the model has no price. */
  readonly cost_eur: number | null;
  /** `"calculated"`, or `"unavailable"` when the model has no price. */
  readonly cost_status: Exclude<CostStatus, "pending">;
  /** The table's version, or `"unavailable"` when the model has no price. */
  readonly pricing_version: PricingVersion;
}

/** Options of {@link parseLiteLlmPriceMap}. */
export interface ParseLiteLlmPriceMapOptions {
  /** EUR per USD, a positive number (required: there is no default rate). */
  usdToEur: number;
  /**
   * When the prices were taken.
   *
   * @default {new Date()}
   */
  takenAt?: Date;
  /**
   * Where the map comes from, recorded in the snapshot.
   *
   * @default {"model_prices_and_context_window.json"}
   */
  source?: string;
}

/** Options of {@link priceTableFromOverrides}. */
export interface PriceTableFromOverridesOptions {
  /**
   * Where the overrides come from, recorded in the snapshot.
   *
   * @default {"overrides"}
   */
  source?: string;
  /**
   * When the prices were set.
   *
   * @default {new Date()}
   */
  takenAt?: Date;
}

const tokens = z.int().min(0);
const costRequest = z.object({
  model: z.string().min(1),
  prompt_tokens: tokens,
  completion_tokens: tokens,
  cache_read_input_tokens: tokens.default(0),
  cache_creation_input_tokens: tokens.default(0),
  reasoning_tokens: tokens.default(0),
}).check((ctx) => {
  const r = ctx.value;
  const issue = (path: string, message: string) =>
    ctx.issues.push({ code: "custom", path: [path], message, input: r });
  if (r.cache_read_input_tokens > r.prompt_tokens) {
    issue("cache_read_input_tokens", "expected at most prompt_tokens (cache reads are inside it)");
  } else if (r.cache_read_input_tokens + r.cache_creation_input_tokens > r.prompt_tokens) {
    issue(
      "cache_creation_input_tokens",
      "expected cache reads plus cache writes at most prompt_tokens (both are inside it)",
    );
  }
  if (r.reasoning_tokens > r.completion_tokens) {
    issue("reasoning_tokens", "expected at most completion_tokens (reasoning is inside it)");
  }
});

/**
 * Price LiteLLM's `model_prices_and_context_window.json` in EUR.
 *
 * An entry is used when its `input_cost_per_token` and `output_cost_per_token` are
 * non-negative numbers (or decimal strings); entries without token prices (`sample_spec`,
 * image, audio, embedding entries without an output price) are left out, and so is an entry
 * with a malformed price or tier: those models have no price (cost `"unavailable"`), never a
 * guessed one. Tiers come from `input_cost_per_token_above_<N>k_tokens` (or `_above_<N>_tokens`)
 * with the matching `output_cost_per_token_above_...`, `cache_read_input_token_cost_above_...`
 * and `cache_creation_input_token_cost_above_...`; a tier without an output price keeps the base
 * output price (as LiteLLM does). `tiered_pricing` lists become `ranges` (an entry priced only
 * by them is used too). Cache read, cache creation (5-minute) and reasoning prices are kept;
 * audio, image and per-second prices are not used. Each USD price is multiplied exactly by
 * `usdToEur`; the snapshot's `digest` identifies the resulting EUR prices.
 *
 * @param json The parsed map (`await response.json()`) or its JSON text.
 * @param options The USD→EUR rate (required), when and where the prices were taken.
 * @returns A frozen table with `pricing_version: "litellm-live"` and the prices' `digest`.
 * @throws {ValidationError} When `usdToEur` is not a positive number, `takenAt` is not a valid
 *   date, or `json` is not a JSON object.
 *
 * @example Price a call from a LiteLLM map
 * ```ts
 * import assert from "node:assert/strict";
 * import { computeCost, parseLiteLlmPriceMap } from "./pricing.ts";
 *
 * const table = parseLiteLlmPriceMap(
 *   { "gpt-4o": { input_cost_per_token: 2.5e-6, output_cost_per_token: 1e-5, litellm_provider: "openai" } },
 *   { usdToEur: 0.92 },
 * );
 * assert.deepEqual(computeCost({ model: "openai/gpt-4o", prompt_tokens: 1000, completion_tokens: 100 }, table), {
 *   cost_eur: 0.00322,
 *   cost_status: "calculated",
 *   pricing_version: "litellm-live",
 * });
 * ```
 */
export function parseLiteLlmPriceMap(
  json: unknown,
  options: ParseLiteLlmPriceMapOptions,
): PriceTable {
  const contract = "ParseLiteLlmPriceMapOptions";
  const rate = typeof options.usdToEur === "number" && options.usdToEur > 0
    ? toDecimal(options.usdToEur)
    : undefined;
  if (rate === undefined) {
    throw new ValidationError(contract, [{
      path: "usdToEur",
      message: "expected a positive number (EUR per USD)",
    }]);
  }
  const map = readJsonObject(json);
  const models: [string, ModelPrice][] = [];
  for (const [name, entry] of Object.entries(map)) {
    const price = name === "sample_spec" ? undefined : modelPriceFromLiteLlm(entry, rate);
    if (price !== undefined) models.push([name, price]);
  }
  return freezeTable(models, {
    pricing_version: "litellm-live",
    source: options.source ?? "model_prices_and_context_window.json",
    usd_to_eur: options.usdToEur,
    taken_at: takenAtText(options.takenAt, contract),
  });
}

/**
 * Build a table from static EUR prices (`pricing_version: "overrides-static"`), for models
 * LiteLLM does not list or negotiated prices. Prices are numbers or decimal text; decimal text
 * is taken exactly as written.
 *
 * @param overrides Prices by model name.
 * @param options Where the overrides come from and when they were set.
 * @returns A frozen table.
 * @throws {ValidationError} When a price is not a non-negative decimal, a key is unknown or
 *   tier thresholds are not strictly ascending positive integers; `issues` name the path
 *   (`"my-model.tiers.0.above_prompt_tokens"`).
 *
 * @example Negotiated prices
 * ```ts
 * import assert from "node:assert/strict";
 * import { computeCost, priceTableFromOverrides } from "./pricing.ts";
 *
 * const table = priceTableFromOverrides({
 *   "acme-llm": { input_eur_per_token: "0.000001", output_eur_per_token: "0.000003" },
 * });
 * const cost = computeCost({ model: "acme-llm", prompt_tokens: 1500, completion_tokens: 500 }, table);
 * assert.equal(cost.cost_eur, 0.003);
 * assert.equal(cost.pricing_version, "overrides-static");
 * ```
 */
export function priceTableFromOverrides(
  overrides: Readonly<Record<string, PriceOverride>>,
  options: PriceTableFromOverridesOptions = {},
): PriceTable {
  return freezeTable(readOverrides(overrides), {
    pricing_version: "overrides-static",
    source: options.source ?? "overrides",
    usd_to_eur: null,
    taken_at: takenAtText(options.takenAt, "PriceTableFromOverridesOptions"),
  });
}

/**
 * The EUR cost of one call, as LiteLLM bills it (README "Pricing" lists the rules). The model
 * is looked up by its exact name; failing that, a name with a provider prefix
 * (`"openai/gpt-4o"`) matches the entry without it (`"gpt-4o"`) only if that entry's provider is
 * the prefix: one prefix is stripped, never a match across providers. The prompt tokens choose
 * the prices of the whole call: a `tiered_pricing` range, else the highest
 * `_above_<N>_tokens` tier they exceed (128,000 is still the base price; 128,001 is the tier).
 * Each token is priced once, at its class's price: cache reads and cache writes (inside
 * `prompt_tokens`) at the cache prices, the rest of the prompt at the input price, reasoning
 * tokens (inside `completion_tokens`) at the reasoning price, the rest at the output price; a
 * class without a price in the entry takes the input (or output) price, never 0. The cost is
 * computed exactly and rounded half up to 10 decimal places; `cost_eur` is the nearest double,
 * and `String(cost_eur)` is that exact decimal for every cost below 100,000 EUR.
 *
 * The result spreads into `EmitLlmCallArgs`, so it holds nothing else; where the numbers come
 * from is the table's {@link pricingProvenance}.
 *
 * @param request The model and token counts (an `EmitLlmCallArgs` fits).
 * @param table The price table.
 * @returns `calculated` with the cost, or `unavailable` with `cost_eur: null` for a model
 *   without a price (never 0).
 * @throws {ValidationError} When a token count is not an integer >= 0, the model is empty, cache
 *   reads exceed `prompt_tokens`, cache reads plus writes exceed it, or reasoning tokens exceed
 *   `completion_tokens` (the issue names the field); also when a hand-built table holds a price
 *   that is not decimal text.
 *
 * @example Unknown models get no number
 * ```ts
 * import assert from "node:assert/strict";
 * import { computeCost, priceTableFromOverrides } from "./pricing.ts";
 *
 * const table = priceTableFromOverrides({});
 * assert.deepEqual(computeCost({ model: "mystery", prompt_tokens: 10, completion_tokens: 0 }, table), {
 *   cost_eur: null,
 *   cost_status: "unavailable",
 *   pricing_version: "unavailable",
 * });
 * ```
 *
 * @example Cache and reasoning tokens, each priced once
 * ```ts
 * import assert from "node:assert/strict";
 * import { computeCost, priceTableFromOverrides } from "./pricing.ts";
 *
 * const table = priceTableFromOverrides({
 *   m: {
 *     input_eur_per_token: "0.000001",
 *     output_eur_per_token: "0.000004",
 *     cache_read_eur_per_token: "0.0000001",
 *     reasoning_eur_per_token: "0.00001",
 *   },
 * });
 * const cost = computeCost({
 *   model: "m",
 *   prompt_tokens: 1000, // 600 read from the cache, 100 written to it (input price: none given)
 *   cache_read_input_tokens: 600,
 *   cache_creation_input_tokens: 100,
 *   completion_tokens: 50, // 20 of them reasoning
 *   reasoning_tokens: 20,
 * }, table);
 * // 300 × 0.000001 + 600 × 0.0000001 + 100 × 0.000001 + 30 × 0.000004 + 20 × 0.00001
 * assert.equal(cost.cost_eur, 0.00078);
 * ```
 */
export function computeCost(request: CostRequest, table: PriceTable): ComputedCost {
  const parsed = parseContract(costRequest, "CostRequest", request);
  const found = findPrice(parsed.model, table.models);
  if (found === undefined) {
    return Object.freeze({
      cost_eur: null,
      cost_status: "unavailable",
      pricing_version: "unavailable",
    });
  }
  return Object.freeze({
    cost_eur: costEur(found, {
      prompt: parsed.prompt_tokens,
      completion: parsed.completion_tokens,
      cacheRead: parsed.cache_read_input_tokens,
      cacheCreation: parsed.cache_creation_input_tokens,
      reasoning: parsed.reasoning_tokens,
    }),
    cost_status: "calculated",
    pricing_version: table.snapshot.pricing_version,
  });
}

/**
 * Where the costs computed from `table` come from: what the `PostgresKernelEmitter` records in
 * the `pricing_snapshots` row its calls refer to (give it the same table: `priceTable` option).
 *
 * @param table The price table the costs were computed with.
 * @returns The table's version, source, `taken_at`, USD→EUR rate as decimal text (`null` for
 *   overrides) and digest (the snapshot's, or computed from `models` when a hand-built table
 *   has none).
 * @throws {NonJsonValueError} When a hand-built table without a digest holds a value that is
 *   not JSON.
 *
 * @example The provenance of a LiteLLM table
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLiteLlmPriceMap, pricingProvenance } from "./pricing.ts";
 *
 * const map = { "gpt-4o": { input_cost_per_token: 2.5e-6, output_cost_per_token: 1e-5 } };
 * const table = parseLiteLlmPriceMap(map, {
 *   usdToEur: 0.9234,
 *   takenAt: new Date("2025-03-01T06:00:00Z"),
 *   source: "litellm@v1.74.0",
 * });
 * const provenance = pricingProvenance(table);
 * assert.equal(provenance.fx_usd_eur, "0.9234");
 * assert.equal(provenance.taken_at, "2025-03-01T06:00:00.000Z");
 * assert.match(provenance.digest, /^[0-9a-f]{64}$/);
 * const cheaper = parseLiteLlmPriceMap(map, { usdToEur: 0.9 });
 * assert.notEqual(pricingProvenance(cheaper).digest, provenance.digest); // other EUR prices
 * ```
 */
export function pricingProvenance(table: PriceTable): PricingProvenance {
  const { pricing_version, source, taken_at, usd_to_eur, digest } = table.snapshot;
  const rate = usd_to_eur === null ? undefined : toDecimal(usd_to_eur);
  return Object.freeze({
    pricing_version,
    source,
    taken_at,
    fx_usd_eur: rate === undefined ? null : formatDecimal(rate),
    digest: digest ?? priceTableDigest(table.models),
  });
}
