/**
 * Internal: building price tables (from a LiteLLM price map and from static overrides) and the
 * exact cost of one call.
 *
 * @module
 */
import { z } from "zod";
import {
  add,
  type Decimal,
  formatDecimal,
  multiply,
  roundHalfUp,
  toDecimal,
} from "./_pricing_decimal.ts";
import { parseContract } from "./_contract_schema_parse.ts";
import { ValidationError } from "./errors.ts";
import { computeContentHash } from "./idempotency.ts";
import type {
  ModelPrice,
  PriceRange,
  PriceTable,
  PriceTier,
  PricingSnapshot,
} from "./price_table.ts";

/** Decimal places of EUR kept in a cost. */
const COST_PLACES = 10;
const TIER_KEY = /^input_cost_per_token_above_(\d+)(k?)_tokens$/;
/** LiteLLM's key of each price class (flat; `_above_<N>_tokens` appended for a tier). */
const KEYS = {
  input: "input_cost_per_token",
  output: "output_cost_per_token",
  cacheRead: "cache_read_input_token_cost",
  cacheCreation: "cache_creation_input_token_cost",
  reasoning: "output_cost_per_reasoning_token",
} as const;
/** The `_above_128k_tokens` tier that LiteLLM's Vertex AI calculator treats on its own. */
const VERTEX_TIER = 128_000;

/** Token counts of one call, checked: the cache classes are inside `prompt`, reasoning inside `completion`. */
export interface TokenUsage {
  readonly prompt: number;
  readonly completion: number;
  readonly cacheRead: number;
  readonly cacheCreation: number;
  readonly reasoning: number;
}

/**
 * The EUR prices of one LiteLLM entry, or `undefined` when it has no usable token prices.
 *
 * @param entry One value of the price map.
 * @param usdToEur EUR per USD.
 * @returns The prices, or `undefined` (no token prices, or a malformed price, tier or range).
 */
export function modelPriceFromLiteLlm(entry: unknown, usdToEur: Decimal): ModelPrice | undefined {
  if (!isRecord(entry)) return undefined;
  const eur = (value: unknown) => {
    const usd = toDecimal(value);
    return usd === undefined ? undefined : formatDecimal(multiply(usd, usdToEur));
  };
  // A present key must hold a price; an absent (or null) one leaves the class to its fallback.
  let malformed = false;
  const optional = (fields: Record<string, unknown>, key: string) => {
    const value = fields[key];
    if (value === undefined || value === null) return undefined;
    const text = eur(value);
    if (text === undefined) malformed = true;
    return text;
  };
  const classes = (fields: Record<string, unknown>, suffix = "") => ({
    ...defined("cache_read_eur_per_token", optional(fields, KEYS.cacheRead + suffix)),
    ...defined("cache_creation_eur_per_token", optional(fields, KEYS.cacheCreation + suffix)),
  });
  const input = optional(entry, KEYS.input);
  const output = optional(entry, KEYS.output);
  const tiers: PriceTier[] = [];
  for (const [key, value] of Object.entries(entry)) {
    const match = TIER_KEY.exec(key);
    if (match === null || value === null) continue; // LiteLLM ignores a null tier too
    const suffix = key.slice(KEYS.input.length);
    const tierInput = optional(entry, key);
    const tierOutput = optional(entry, KEYS.output + suffix) ?? output;
    if (tierInput === undefined || tierOutput === undefined) return undefined;
    tiers.push({
      above_prompt_tokens: Number(match[1]) * (match[2] === "k" ? 1000 : 1),
      input_eur_per_token: tierInput,
      output_eur_per_token: tierOutput,
      ...classes(entry, suffix),
    });
  }
  tiers.sort((a, b) => a.above_prompt_tokens - b.above_prompt_tokens);
  const ranges = rangesFromLiteLlm(entry.tiered_pricing, optional, output);
  if (malformed || ranges === null) return undefined;
  // An entry priced only by `tiered_pricing` takes its lowest range as its flat prices (what a
  // request without prompt tokens pays, where LiteLLM would bill 0).
  const flat = input === undefined && output === undefined && ranges.length > 0 ? ranges[0] : {
    input_eur_per_token: input,
    output_eur_per_token: output,
    ...classes(entry),
    ...defined("reasoning_eur_per_token", optional(entry, KEYS.reasoning)),
  };
  if (malformed || flat.input_eur_per_token === undefined) return undefined;
  if (flat.output_eur_per_token === undefined) return undefined;
  return {
    provider: typeof entry.litellm_provider === "string" ? entry.litellm_provider : null,
    input_eur_per_token: flat.input_eur_per_token,
    output_eur_per_token: flat.output_eur_per_token,
    ...defined("cache_read_eur_per_token", flat.cache_read_eur_per_token),
    ...defined("cache_creation_eur_per_token", flat.cache_creation_eur_per_token),
    ...defined("reasoning_eur_per_token", flat.reasoning_eur_per_token),
    tiers,
    ...(ranges.length > 0 ? { ranges } : {}),
  };
}

/**
 * LiteLLM's `tiered_pricing` list as ranges sorted by start, `[]` without one, `null` when
 * malformed (a range that is not `[start, end]` with `0 <= start < end`, or without an input
 * price, or without an output price when the entry has none either).
 */
function rangesFromLiteLlm(
  list: unknown,
  optional: (fields: Record<string, unknown>, key: string) => string | undefined,
  entryOutput: string | undefined,
): PriceRange[] | null {
  if (!Array.isArray(list)) return [];
  const ranges: PriceRange[] = [];
  for (const tier of list) {
    if (!isRecord(tier) || !Array.isArray(tier.range) || tier.range.length !== 2) return null;
    const [start, end] = tier.range;
    if (!(typeof start === "number" && typeof end === "number" && 0 <= start && start < end)) {
      return null;
    }
    // LiteLLM reads a range's optional rates with `or`: a 0 there falls back like a missing one.
    const nonZero = (key: string) => {
      const text = optional(tier, key);
      return text === "0" ? undefined : text;
    };
    const input = optional(tier, KEYS.input);
    const output = optional(tier, KEYS.output) ?? entryOutput;
    if (input === undefined || output === undefined || !Number.isFinite(end)) return null;
    ranges.push({
      above_prompt_tokens: start,
      up_to_prompt_tokens: end,
      input_eur_per_token: input,
      output_eur_per_token: output,
      ...defined("cache_read_eur_per_token", nonZero(KEYS.cacheRead)),
      ...defined("cache_creation_eur_per_token", nonZero(KEYS.cacheCreation)),
      ...defined("reasoning_eur_per_token", nonZero(KEYS.reasoning)),
    });
  }
  return ranges.sort((a, b) => a.above_prompt_tokens - b.above_prompt_tokens);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `{ [key]: value }`, or `{}` when `value` is `undefined` (keeps absent prices absent). */
function defined<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

const price = z.custom<number | string>(
  (value) => toDecimal(value) !== undefined,
  'expected a non-negative decimal number or text such as "0.0000025"',
);

const classPrices = {
  cache_read_eur_per_token: price.optional(),
  cache_creation_eur_per_token: price.optional(),
};

const overridesSchema = z.record(
  z.string().min(1),
  z.strictObject({
    provider: z.string().min(1).optional(),
    input_eur_per_token: price,
    output_eur_per_token: price,
    ...classPrices,
    reasoning_eur_per_token: price.optional(),
    tiers: z.array(z.strictObject({
      above_prompt_tokens: z.int().min(1),
      input_eur_per_token: price,
      output_eur_per_token: price,
      ...classPrices,
    })).default([]).refine(
      (tiers) =>
        tiers.every((t, i) => i === 0 || t.above_prompt_tokens > tiers[i - 1].above_prompt_tokens),
      "expected strictly ascending above_prompt_tokens",
    ),
  }),
);

/**
 * Check static overrides and turn them into model prices.
 *
 * @param overrides Prices by model name, in EUR.
 * @returns The prices by model name.
 * @throws {ValidationError} Contract `"PriceOverrides"`, naming every bad path.
 */
export function readOverrides(overrides: unknown): [string, ModelPrice][] {
  const parsed = parseContract(overridesSchema, "PriceOverrides", overrides);
  /** The given prices as exact decimal text (absent ones stay absent). */
  const texts = <T extends Record<string, number | string | undefined>>(prices: T) =>
    Object.fromEntries(
      Object.entries(prices).flatMap(([key, value]) =>
        value === undefined ? [] : [[key, formatDecimal(toDecimal(value)!)]]
      ),
    ) as { [K in keyof T]: string };
  return Object.entries(parsed).map(([name, { provider, tiers, ...prices }]) => [name, {
    provider: provider ?? null,
    ...texts(prices),
    tiers: tiers.map(({ above_prompt_tokens, ...tier }) => ({
      above_prompt_tokens,
      ...texts(tier),
    })),
  }]);
}

/**
 * The entry for `model`: the exact name, else one provider prefix stripped if the entry's
 * provider is that prefix.
 *
 * @param model The requested model name.
 * @param models The table's models.
 * @returns The entry's name and prices, or `undefined`.
 */
export function findPrice(
  model: string,
  models: Readonly<Record<string, ModelPrice>>,
): [string, ModelPrice] | undefined {
  if (Object.hasOwn(models, model)) return [model, models[model]];
  const slash = model.indexOf("/");
  if (slash <= 0) return undefined;
  const provider = model.slice(0, slash);
  const rest = model.slice(slash + 1);
  if (Object.hasOwn(models, rest) && models[rest].provider === provider) {
    return [rest, models[rest]];
  }
  return undefined;
}

/** EUR per token of each token class for one call, as price-table field names. */
type Rates = Record<
  "input" | "output" | "cacheRead" | "cacheCreation" | "reasoning",
  [field: string, text: string]
>;

/**
 * The price of each token class for one call, by LiteLLM's rules (README "Pricing"): a
 * `tiered_pricing` range chosen by prompt tokens (`start < prompt <= end`, the last range above
 * them all); else Vertex AI's own 128k rule; else the highest `_above_<N>_tokens` tier with
 * `prompt > N` (`>=` for xAI; none for dashscope). A class without a price takes the input (or
 * output) price of the same tier, never 0.
 */
function ratesFor(price: ModelPrice, usage: TokenUsage): Rates {
  const provider = price.provider ?? "";
  const range = usage.prompt <= 0 || price.ranges === undefined || price.ranges.length === 0
    ? undefined
    : price.ranges.find((r) =>
      r.above_prompt_tokens < usage.prompt &&
      usage.prompt <= r.up_to_prompt_tokens
    ) ?? price.ranges.at(-1);
  if (range !== undefined) {
    const at = `ranges.${price.ranges!.indexOf(range)}.`;
    return classRates(range, at, range, at);
  }
  const vertexTier = provider.startsWith("vertex_ai")
    ? price.tiers.find((t) => t.above_prompt_tokens === VERTEX_TIER)
    : undefined;
  if (vertexTier !== undefined) return vertexRates(price, vertexTier, usage);
  const inclusive = provider === "xai";
  const tiers = provider === "dashscope" ? [] : price.tiers;
  const tier = tiers.findLast((t) =>
    usage.prompt > t.above_prompt_tokens || (inclusive && usage.prompt === t.above_prompt_tokens)
  );
  const at = tier === undefined ? "" : `tiers.${price.tiers.indexOf(tier)}.`;
  const rates = classRates(tier ?? price, at, price, "");
  // xAI: LiteLLM bills reasoning tokens as completion tokens, at the output price.
  return inclusive ? { ...rates, reasoning: rates.output } : rates;
}

/**
 * Rates from `tier` (its cache prices falling back to the entry's, then to the tier's input
 * price) and the entry's reasoning price (falling back to the tier's output price).
 */
function classRates(
  tier: PriceTier | ModelPrice | PriceRange,
  at: string,
  entry: ModelPrice | PriceRange,
  entryAt: string,
): Rates {
  const input: [string, string] = [`${at}input_eur_per_token`, tier.input_eur_per_token];
  const output: [string, string] = [`${at}output_eur_per_token`, tier.output_eur_per_token];
  const pick = (field: keyof typeof classPrices | "reasoning_eur_per_token", fallback: [
    string,
    string,
  ]): [string, string] => {
    if (field !== "reasoning_eur_per_token" && field in tier && tier[field] !== undefined) {
      return [`${at}${field}`, tier[field]!];
    }
    const own = entry[field];
    return own === undefined ? fallback : [`${entryAt}${field}`, own];
  };
  return {
    input,
    output,
    cacheRead: pick("cache_read_eur_per_token", input),
    cacheCreation: pick("cache_creation_eur_per_token", input),
    reasoning: pick("reasoning_eur_per_token", output),
  };
}

/**
 * LiteLLM's Vertex AI rule for an entry with a 128k tier: the input tier applies when
 * `prompt - cache creation > 128000`, the output tier when `completion > 128000`; cache prices
 * are the entry's (a missing or 0 one is the applied input price) and reasoning is output.
 */
function vertexRates(price: ModelPrice, tier: PriceTier, usage: TokenUsage): Rates {
  const at = `tiers.${price.tiers.indexOf(tier)}.`;
  const input: [string, string] = usage.prompt - usage.cacheCreation > VERTEX_TIER
    ? [`${at}input_eur_per_token`, tier.input_eur_per_token]
    : ["input_eur_per_token", price.input_eur_per_token];
  const output: [string, string] = usage.completion > VERTEX_TIER
    ? [`${at}output_eur_per_token`, tier.output_eur_per_token]
    : ["output_eur_per_token", price.output_eur_per_token];
  const own = (field: keyof typeof classPrices): [string, string] => {
    const text = price[field];
    return text === undefined || text === "0" ? input : [field, text];
  };
  return {
    input,
    output,
    cacheRead: own("cache_read_eur_per_token"),
    cacheCreation: own("cache_creation_eur_per_token"),
    reasoning: output,
  };
}

/**
 * The cost of a call: each token once, at its class's price, computed exactly, rounded half
 * up to 10 decimal places, then converted to the nearest double.
 *
 * @param entry The entry's name (for messages) and prices.
 * @param usage The checked token counts.
 * @returns EUR.
 * @throws {ValidationError} When a hand-built table holds a price that is not decimal text.
 */
export function costEur([name, price]: [string, ModelPrice], usage: TokenUsage): number {
  const rates = ratesFor(price, usage);
  const rate = (key: keyof Rates) => priceDecimal(rates[key][1], `models.${name}.${rates[key][0]}`);
  const terms: [keyof Rates, number][] = [
    ["input", usage.prompt - usage.cacheRead - usage.cacheCreation],
    ["cacheRead", usage.cacheRead],
    ["cacheCreation", usage.cacheCreation],
    ["output", usage.completion - usage.reasoning],
    ["reasoning", usage.reasoning],
  ];
  const cost = terms.reduce<Decimal>(
    (sum, [key, tokens]) => tokens === 0 ? sum : add(sum, multiply(rate(key), count(tokens))),
    { units: 0n, scale: 0 },
  );
  return Number(formatDecimal(roundHalfUp(cost, COST_PLACES)));
}

function priceDecimal(text: string, path: string): Decimal {
  const value = typeof text === "string" ? toDecimal(text) : undefined;
  if (value === undefined) {
    throw new ValidationError("PriceTable", [{
      path,
      message: "expected non-negative decimal text",
    }]);
  }
  return value;
}

function count(tokens: number): Decimal {
  return { units: BigInt(tokens), scale: 0 };
}

/**
 * RFC 3339 text of `takenAt` (default now).
 *
 * @param takenAt The option value.
 * @param contract The options' contract name, for the error.
 * @returns ISO 8601 text in UTC.
 * @throws {ValidationError} When it is not a valid `Date`.
 */
export function takenAtText(takenAt: Date | undefined, contract: string): string {
  const date = takenAt ?? new Date();
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new ValidationError(contract, [{ path: "takenAt", message: "expected a valid Date" }]);
  }
  return date.toISOString();
}

/**
 * The price map as an object.
 *
 * @param json The parsed map or its JSON text.
 * @returns The object of entries.
 * @throws {ValidationError} When it is not JSON text or not a JSON object.
 */
export function readJsonObject(json: unknown): Record<string, unknown> {
  let value = json;
  if (typeof json === "string") {
    try {
      value = JSON.parse(json);
    } catch (cause) {
      throw new ValidationError("LiteLlmPriceMap", [{ path: "", message: "expected JSON text" }], {
        cause,
      });
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ValidationError("LiteLlmPriceMap", [{
      path: "",
      message: "expected a JSON object of model entries",
    }]);
  }
  return value as Record<string, unknown>;
}

/**
 * A frozen table with a null-prototype `models` record (a model named `"__proto__"` is safe),
 * its snapshot carrying the digest of the prices.
 *
 * @param models Entries in source order.
 * @param snapshot What the table was built from (without the digest).
 * @returns The frozen table.
 */
export function freezeTable(
  models: [string, ModelPrice][],
  snapshot: Omit<PricingSnapshot, "digest">,
): PriceTable {
  const frozen: Record<string, ModelPrice> = Object.create(null);
  for (const [name, price] of models) {
    frozen[name] = Object.freeze({
      ...price,
      tiers: Object.freeze(price.tiers.map((t) => Object.freeze({ ...t }))),
      ...(price.ranges === undefined
        ? {}
        : { ranges: Object.freeze(price.ranges.map((r) => Object.freeze({ ...r }))) }),
    });
  }
  return Object.freeze({
    snapshot: Object.freeze({ ...snapshot, digest: priceTableDigest(frozen) }),
    models: Object.freeze(frozen),
  });
}

/**
 * The digest of a table's prices: lowercase hex SHA-256 of the RFC 8785 canonical JSON of its
 * `models` (the EUR prices, so the USD→EUR rate is part of it; key order does not matter).
 *
 * @param models The table's models.
 * @returns 64 lowercase hex digits.
 * @throws {NonJsonValueError} When a hand-built table holds a value that is not JSON.
 */
export function priceTableDigest(models: PriceTable["models"]): string {
  return computeContentHash(models);
}
