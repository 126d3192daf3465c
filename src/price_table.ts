/**
 * Price tables: the per-model EUR prices `computeCost` reads, where they come from, and the
 * static overrides a table can be built from (see `priceTableFromOverrides`).
 *
 * @module
 */
import type { PricingVersion } from "./vocabulary.ts";

/** What a price table was built from; recorded with the costs computed from it. */
export interface PricingSnapshot {
  /** `"litellm-live"` for a LiteLLM price map, `"overrides-static"` for overrides. */
  readonly pricing_version: Exclude<PricingVersion, "unavailable">;
  /** Where the prices come from (a URL, a file name, `"overrides"`). */
  readonly source: string;
  /** EUR per USD used to convert the LiteLLM prices; `null` for overrides (already EUR). */
  readonly usd_to_eur: number | null;
  /** When the prices were taken, RFC 3339 in UTC. */
  readonly taken_at: string;
  /**
   * Lowercase hex SHA-256 of the RFC 8785 canonical JSON of the table's `models` (its EUR
   * prices). Set by {@link parseLiteLlmPriceMap} and {@link priceTableFromOverrides}; a
   * hand-built table may leave it out ({@link pricingProvenance} then computes it).
   */
  readonly digest?: string;
}

/**
 * Where a cost comes from, as the `PostgresKernelEmitter` records it in `pricing_snapshots`:
 * the table's version, source, when its prices were taken, the USD→EUR rate and its digest.
 */
export interface PricingProvenance {
  /** `"litellm-live"` or `"overrides-static"`. */
  readonly pricing_version: Exclude<PricingVersion, "unavailable">;
  /** Where the prices come from. */
  readonly source: string;
  /** When the prices were taken, RFC 3339 in UTC. */
  readonly taken_at: string;
  /** EUR per USD as exact decimal text (`"0.9234"`), `null` for overrides. */
  readonly fx_usd_eur: string | null;
  /** Lowercase hex SHA-256 of the table's canonical prices (see {@link PricingSnapshot}). */
  readonly digest: string;
}

/** Prices that apply to a whole request once its prompt tokens exceed a threshold. */
export interface PriceTier {
  /** The tier applies when `prompt_tokens > above_prompt_tokens`. */
  readonly above_prompt_tokens: number;
  /** EUR per prompt token, exact decimal text. */
  readonly input_eur_per_token: string;
  /** EUR per completion token, exact decimal text. */
  readonly output_eur_per_token: string;
  /** EUR per cache-read prompt token in this tier; absent: the model's, else the tier's input. */
  readonly cache_read_eur_per_token?: string;
  /** EUR per cache-write prompt token in this tier; absent: the model's, else the tier's input. */
  readonly cache_creation_eur_per_token?: string;
}

/**
 * One range of LiteLLM's `tiered_pricing`: every token of a request whose prompt tokens fall in
 * `above_prompt_tokens < prompt <= up_to_prompt_tokens` is priced here (a request above the
 * highest range, or in no range, takes the last one).
 */
export interface PriceRange {
  /** Start of the range (exclusive). */
  readonly above_prompt_tokens: number;
  /** End of the range (inclusive). */
  readonly up_to_prompt_tokens: number;
  /** EUR per prompt token, exact decimal text. */
  readonly input_eur_per_token: string;
  /** EUR per completion token, exact decimal text. */
  readonly output_eur_per_token: string;
  /** EUR per cache-read prompt token; absent: this range's input price. */
  readonly cache_read_eur_per_token?: string;
  /** EUR per cache-write prompt token; absent: this range's input price. */
  readonly cache_creation_eur_per_token?: string;
  /** EUR per reasoning token; absent: this range's output price. */
  readonly reasoning_eur_per_token?: string;
}

/** The prices of one model, in EUR per token as exact decimal text (`"0.0000023"`). */
export interface ModelPrice {
  /** LiteLLM's `litellm_provider` (`"openai"`), used for prefixed names; `null` if unknown. */
  readonly provider: string | null;
  /** EUR per prompt token up to the first tier. */
  readonly input_eur_per_token: string;
  /** EUR per completion token up to the first tier. */
  readonly output_eur_per_token: string;
  /** EUR per cache-read prompt token; absent: the input price of the applied tier. */
  readonly cache_read_eur_per_token?: string;
  /** EUR per cache-write prompt token; absent: the input price of the applied tier. */
  readonly cache_creation_eur_per_token?: string;
  /** EUR per reasoning token (in every tier); absent: the output price of the applied tier. */
  readonly reasoning_eur_per_token?: string;
  /** Tiers by ascending threshold. */
  readonly tiers: readonly PriceTier[];
  /** LiteLLM `tiered_pricing` ranges by ascending start; when present they decide the prices. */
  readonly ranges?: readonly PriceRange[];
}

/** A frozen price table: model name to prices, and where they come from. */
export interface PriceTable {
  /** What the table was built from. */
  readonly snapshot: PricingSnapshot;
  /** Prices by model name as the source spells it (`"gpt-4o"`, `"azure/gpt-4o"`). */
  readonly models: Readonly<Record<string, ModelPrice>>;
}

/** Static prices of one model in EUR per token (numbers or decimal text such as `"0.0000023"`). */
export interface PriceOverride {
  /** Provider, so that `"<provider>/<model>"` matches too; without it only the exact name does. */
  provider?: string;
  /** EUR per prompt token. */
  input_eur_per_token: number | string;
  /** EUR per completion token. */
  output_eur_per_token: number | string;
  /** EUR per cache-read prompt token; without it, the input price of the applied tier. */
  cache_read_eur_per_token?: number | string;
  /** EUR per cache-write prompt token; without it, the input price of the applied tier. */
  cache_creation_eur_per_token?: number | string;
  /** EUR per reasoning token; without it, the output price of the applied tier. */
  reasoning_eur_per_token?: number | string;
  /** Tiers by strictly ascending `above_prompt_tokens`. */
  tiers?: readonly {
    above_prompt_tokens: number;
    input_eur_per_token: number | string;
    output_eur_per_token: number | string;
    cache_read_eur_per_token?: number | string;
    cache_creation_eur_per_token?: number | string;
  }[];
}
