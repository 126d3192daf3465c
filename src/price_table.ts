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
}

/** Prices that apply to a whole request once its prompt tokens exceed a threshold. */
export interface PriceTier {
  /** The tier applies when `prompt_tokens > above_prompt_tokens`. */
  readonly above_prompt_tokens: number;
  /** EUR per prompt token, exact decimal text. */
  readonly input_eur_per_token: string;
  /** EUR per completion token, exact decimal text. */
  readonly output_eur_per_token: string;
}

/** The prices of one model, in EUR per token as exact decimal text (`"0.0000023"`). */
export interface ModelPrice {
  /** LiteLLM's `litellm_provider` (`"openai"`), used for prefixed names; `null` if unknown. */
  readonly provider: string | null;
  /** EUR per prompt token up to the first tier. */
  readonly input_eur_per_token: string;
  /** EUR per completion token up to the first tier. */
  readonly output_eur_per_token: string;
  /** Tiers by ascending threshold. */
  readonly tiers: readonly PriceTier[];
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
  /** Tiers by strictly ascending `above_prompt_tokens`. */
  tiers?: readonly {
    above_prompt_tokens: number;
    input_eur_per_token: number | string;
    output_eur_per_token: number | string;
  }[];
}
