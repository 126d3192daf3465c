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
import type {
  ModelPrice,
  PriceOverride,
  PriceTable,
  PriceTier,
  PricingSnapshot,
} from "./price_table.ts";

/** Decimal places of EUR kept in a cost. */
const COST_PLACES = 10;
const TIER_KEY = /^input_cost_per_token_above_(\d+)(k?)_tokens$/;

/**
 * The EUR prices of one LiteLLM entry, or `undefined` when it has no usable token prices.
 *
 * @param entry One value of the price map.
 * @param usdToEur EUR per USD.
 * @returns The prices, or `undefined` (no token prices, or a malformed price or tier).
 */
export function modelPriceFromLiteLlm(entry: unknown, usdToEur: Decimal): ModelPrice | undefined {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return undefined;
  const fields = entry as Record<string, unknown>;
  const eur = (value: unknown) => {
    const usd = toDecimal(value);
    return usd === undefined ? undefined : formatDecimal(multiply(usd, usdToEur));
  };
  const input = eur(fields.input_cost_per_token);
  const output = eur(fields.output_cost_per_token);
  if (input === undefined || output === undefined) return undefined;
  const tiers: PriceTier[] = [];
  for (const [key, value] of Object.entries(fields)) {
    const match = TIER_KEY.exec(key);
    if (match === null || value === null) continue; // LiteLLM ignores a null tier too
    const suffix = key.slice("input_cost_per_token".length);
    const tierOutput = fields[`output_cost_per_token${suffix}`] ?? fields.output_cost_per_token;
    const tier = {
      above_prompt_tokens: Number(match[1]) * (match[2] === "k" ? 1000 : 1),
      input_eur_per_token: eur(value),
      output_eur_per_token: eur(tierOutput),
    };
    if (tier.input_eur_per_token === undefined || tier.output_eur_per_token === undefined) {
      return undefined;
    }
    tiers.push(tier as PriceTier);
  }
  tiers.sort((a, b) => a.above_prompt_tokens - b.above_prompt_tokens);
  const provider = typeof fields.litellm_provider === "string" ? fields.litellm_provider : null;
  return { provider, input_eur_per_token: input, output_eur_per_token: output, tiers };
}

const price = z.custom<number | string>(
  (value) => toDecimal(value) !== undefined,
  'expected a non-negative decimal number or text such as "0.0000025"',
);

const overridesSchema = z.record(
  z.string().min(1),
  z.strictObject({
    provider: z.string().min(1).optional(),
    input_eur_per_token: price,
    output_eur_per_token: price,
    tiers: z.array(z.strictObject({
      above_prompt_tokens: z.int().min(1),
      input_eur_per_token: price,
      output_eur_per_token: price,
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
  const text = (value: number | string) => formatDecimal(toDecimal(value)!);
  return Object.entries(parsed).map(([name, o]: [string, PriceOverride]) => [name, {
    provider: o.provider ?? null,
    input_eur_per_token: text(o.input_eur_per_token),
    output_eur_per_token: text(o.output_eur_per_token),
    tiers: (o.tiers ?? []).map((t) => ({
      above_prompt_tokens: t.above_prompt_tokens,
      input_eur_per_token: text(t.input_eur_per_token),
      output_eur_per_token: text(t.output_eur_per_token),
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

/**
 * The cost of a call at the tier its prompt tokens select (`prompt_tokens > threshold`),
 * computed exactly, rounded half up to 10 decimal places, then converted to the nearest double.
 *
 * @param entry The entry's name (for messages) and prices.
 * @param promptTokens Prompt tokens.
 * @param completionTokens Completion tokens.
 * @returns EUR.
 * @throws {ValidationError} When a hand-built table holds a price that is not decimal text.
 */
export function costEur(
  [name, price]: [string, ModelPrice],
  promptTokens: number,
  completionTokens: number,
): number {
  const tier = price.tiers.findLast((t) => promptTokens > t.above_prompt_tokens) ?? price;
  const input = priceDecimal(tier.input_eur_per_token, `models.${name}.input_eur_per_token`);
  const output = priceDecimal(tier.output_eur_per_token, `models.${name}.output_eur_per_token`);
  const cost = add(multiply(input, count(promptTokens)), multiply(output, count(completionTokens)));
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
 * A frozen table with a null-prototype `models` record (a model named `"__proto__"` is safe).
 *
 * @param models Entries in source order.
 * @param snapshot What the table was built from.
 * @returns The frozen table.
 */
export function freezeTable(models: [string, ModelPrice][], snapshot: PricingSnapshot): PriceTable {
  const frozen: Record<string, ModelPrice> = Object.create(null);
  for (const [name, price] of models) {
    frozen[name] = Object.freeze({
      ...price,
      tiers: Object.freeze(price.tiers.map((t) => Object.freeze({ ...t }))),
    });
  }
  return Object.freeze({ snapshot: Object.freeze(snapshot), models: Object.freeze(frozen) });
}
