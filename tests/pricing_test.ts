import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { z } from "zod";
import {
  computeCost,
  CostStatus,
  parseLiteLlmPriceMap,
  type PriceTable,
  priceTableFromOverrides,
  PricingVersion,
} from "../src/pricing.ts";
import { EmitLlmCallArgs } from "../src/kernel_api.ts";
import { computeContentHash } from "../src/idempotency.ts";
import { ValidationError } from "../src/errors.ts";

const FIXTURE = new URL("./fixtures/litellm_prices.json", import.meta.url);
const MAP_TEXT = await readFile(FIXTURE, "utf8");
const TAKEN_AT = new Date("2025-03-01T06:00:00Z");
/** EUR per USD used with the fixture. */
const RATE = 0.9234;
const TABLE = parseLiteLlmPriceMap(JSON.parse(MAP_TEXT), { usdToEur: RATE, takenAt: TAKEN_AT });

function cost(model: string, prompt_tokens: number, completion_tokens: number, table = TABLE) {
  return computeCost({ model, prompt_tokens, completion_tokens }, table);
}

/** `cost_eur` of a calculated cost, checking it is exactly the expected 10-dp decimal text. */
function eur(model: string, prompt: number, completion: number, table = TABLE): string {
  const result = cost(model, prompt, completion, table);
  assert.equal(result.cost_status, "calculated", model);
  assert.equal(typeof result.cost_eur, "number");
  return String(result.cost_eur);
}

const UNAVAILABLE = { cost_eur: null, cost_status: "unavailable", pricing_version: "unavailable" };

Deno.test("parseLiteLlmPriceMap() records the snapshot and freezes the table", () => {
  const { digest, ...snapshot } = TABLE.snapshot;
  assert.deepEqual(snapshot, {
    pricing_version: "litellm-live",
    source: "model_prices_and_context_window.json",
    usd_to_eur: 0.9234,
    taken_at: "2025-03-01T06:00:00.000Z",
  });
  assert.match(digest!, /^[0-9a-f]{64}$/);
  assert.ok(Object.isFrozen(TABLE) && Object.isFrozen(TABLE.snapshot));
  assert.ok(Object.isFrozen(TABLE.models) && Object.isFrozen(TABLE.models["gpt-4o"]));
  assert.ok(Object.isFrozen(TABLE.models["gemini-1.5-pro"].tiers));
  // USD × rate, exactly: 2.5e-6 × 0.9234, 1e-5 × 0.9234 and 1.25e-6 × 0.9234.
  assert.deepEqual(TABLE.models["gpt-4o"], {
    provider: "openai",
    input_eur_per_token: "0.0000023085",
    output_eur_per_token: "0.000009234",
    cache_read_eur_per_token: "0.00000115425",
    tiers: [],
  });
  const source = parseLiteLlmPriceMap(MAP_TEXT, { usdToEur: 1, source: "https://x/prices.json" });
  assert.equal(source.snapshot.source, "https://x/prices.json");
  assert.ok(Math.abs(Date.parse(source.snapshot.taken_at) - Date.now()) < 60_000);
});

Deno.test("parseLiteLlmPriceMap() keeps only entries with token prices", () => {
  assert.deepEqual(Object.keys(TABLE.models).sort(), [
    "azure/gpt-4o-mini",
    "gemini-1.5-pro",
    "gemini/gemini-2.5-pro",
    "gpt-4o",
    "gpt-4o-mini",
    "noise-model",
    "string-priced-model",
    "text-embedding-3-small",
    "tier-without-output-price",
    "two-tier-model",
  ]);
  for (
    const skipped of [
      "sample_spec", // documentation entry
      "dall-e-3", // image prices only
      "embedding-without-output-price",
      "malformed-tier-model", // a tier price that is not a number: no guess
      "negative-price-model",
    ]
  ) {
    assert.deepEqual(cost(skipped, 10, 10), UNAVAILABLE, skipped);
  }
  assert.equal(eur("text-embedding-3-small", 123_457, 0), "0.0022800039");
  assert.equal(eur("string-priced-model", 1234, 567), "0.0024052723");
});

Deno.test("computeCost() reprices all tokens above a tier threshold of prompt tokens", async (t) => {
  await t.step("128k tier: 127,999 and 128,000 base, 128,001 tier", () => {
    assert.equal(eur("two-tier-model", 127_999, 1000), "0.1200410766");
    assert.equal(eur("two-tier-model", 128_000, 1000), "0.120042");
    assert.equal(eur("two-tier-model", 128_001, 1000), "0.2400858468");
  });

  await t.step("200k tier: 200,000 base, 200,001 tier", () => {
    assert.equal(eur("gemini/gemini-2.5-pro", 200_000, 1000), "0.240084");
    assert.equal(eur("gemini/gemini-2.5-pro", 200_001, 1000), "0.4755533085");
  });

  await t.step("both tiers, listed in any order: the highest exceeded one applies", () => {
    assert.deepEqual(TABLE.models["two-tier-model"].tiers.map((tier) => tier.above_prompt_tokens), [
      128_000,
      200_000,
    ]);
    assert.equal(eur("two-tier-model", 128_000, 10), "0.118213668");
    assert.equal(eur("two-tier-model", 128_001, 10), "0.2364291828");
    assert.equal(eur("two-tier-model", 200_000, 10), "0.369396936");
    assert.equal(eur("two-tier-model", 200_001, 10), "0.5540981742");
  });

  await t.step("completion tokens never select a tier (but on Vertex AI)", () => {
    // (200,000 × 1.25e-6 + 500,000 × 1e-5) × 0.9234: base prices although 700,000 in total.
    assert.equal(eur("gemini/gemini-2.5-pro", 200_000, 500_000), "4.84785");
    // Vertex AI (LiteLLM's vertex_ai/cost_calculator.py): completion > 128,000 takes the
    // output tier on its own: (128,000 × 1.25e-6 + 500,000 × 1e-5) × 0.9234.
    assert.equal(eur("gemini-1.5-pro", 128_000, 500_000), "4.764744");
    // ... and prompt > 128,000 the input tier only: (128,001 × 2.5e-6 + 1000 × 5e-6) × 0.9234.
    assert.equal(eur("gemini-1.5-pro", 128_001, 1000), "0.3001073085");
    assert.equal(eur("gemini-1.5-pro", 128_000, 128_000), "0.73872");
    assert.equal(eur("gemini-1.5-pro", 128_000, 128_001), "1.329705234");
  });

  await t.step("a tier without an output price keeps the base output price", () => {
    assert.deepEqual(TABLE.models["tier-without-output-price"].tiers, [{
      above_prompt_tokens: 128_000,
      input_eur_per_token: "0.0000018468",
      output_eur_per_token: "0.0000018468",
    }]);
    assert.equal(eur("tier-without-output-price", 128_001, 10), "0.2364107148");
  });

  await t.step("service-tier keys (…_priority) are not tiers", () => {
    assert.equal(TABLE.models["gemini/gemini-2.5-pro"].tiers.length, 1);
  });
});

Deno.test("computeCost() strips one provider prefix, never across providers", () => {
  assert.deepEqual(cost("openai/gpt-4o", 1000, 100), cost("gpt-4o", 1000, 100));
  assert.equal(eur("openai/gpt-4o", 1000, 100), "0.0032319");
  assert.equal(eur("openai/gpt-4o-mini", 1000, 1000), "0.00069255");
  assert.equal(eur("azure/gpt-4o-mini", 1000, 1000), "0.000761805"); // azure's own entry
  assert.equal(eur("gemini/gemini-2.5-pro", 1, 0), "0.0000011543"); // exact prefixed key
  for (
    const model of [
      "azure/gpt-4o", // gpt-4o is openai's price
      "anthropic/gpt-4o",
      "openrouter/openai/gpt-4o", // one prefix only
      "vertex_ai/gemini-1.5-pro", // provider is "vertex_ai-language-models"
      "gemini-2.5-pro", // only the prefixed entry exists
      "/gpt-4o",
      "GPT-4o",
    ]
  ) {
    assert.deepEqual(cost(model, 1000, 100), UNAVAILABLE, model);
  }
});

Deno.test("computeCost() gives no number for an unknown model", () => {
  const result = cost("gpt-99", 1000, 100);
  assert.deepEqual(result, UNAVAILABLE);
  assert.equal(result.cost_eur, null);
  assert.deepEqual(cost("constructor", 1, 1), UNAVAILABLE);
  assert.deepEqual(cost("toString", 1, 1), UNAVAILABLE);
});

Deno.test("computeCost() prices 0 tokens at 0 and 10^9 tokens exactly", () => {
  assert.deepEqual(cost("gpt-4o", 0, 0), {
    cost_eur: 0,
    cost_status: "calculated",
    pricing_version: "litellm-live",
  });
  assert.equal(eur("gpt-4o", 999_999_999, 1_000_000_000), "11542.4999976915");
  assert.equal(eur("gemini-1.5-pro", 1_000_000_000, 1_000_000_000), "11542.5");
});

Deno.test("computeCost() has no float noise and rounds half up at 10 decimals", async (t) => {
  await t.step("a half at the 11th decimal that naive float arithmetic rounds down", () => {
    // Exact: (133 × 1.25e-6 + 133 × 5e-6) × 0.9234 = 0.00076757625 → 0.0007675763.
    const naive = (133 * 1.25e-6 + 133 * 5e-6) * 0.9234;
    assert.equal(naive, 0.0007675762499999999);
    assert.equal(Math.round(naive * 1e10) / 1e10, 0.0007675762);
    assert.equal(eur("gemini-1.5-pro", 133, 133), "0.0007675763");
  });

  await t.step("0.1 + 0.2 style sums", () => {
    assert.equal(1e-4 + 2e-4, 0.00030000000000000003);
    const table = priceTableFromOverrides({
      m: { input_eur_per_token: 1e-4, output_eur_per_token: 2e-4 },
    });
    assert.equal(cost("m", 1, 1, table).cost_eur, 0.0003);
    assert.equal((1000 * 2.5e-6 + 100 * 1e-5) * 0.9234, 0.0032319000000000002);
    assert.equal(cost("gpt-4o", 1000, 100).cost_eur, 0.0032319);
  });

  await t.step("half up: 1.5e-10 → 2e-10 (toFixed gives 1e-10), 2.5e-10 → 3e-10, 4e-11 → 0", () => {
    assert.equal((1.5e-10).toFixed(10), "0.0000000001");
    const table = priceTableFromOverrides({
      a: { input_eur_per_token: 1.5e-10, output_eur_per_token: 0 },
      b: { input_eur_per_token: "0.00000000005", output_eur_per_token: "0.00000000004" },
    });
    assert.equal(cost("a", 1, 0, table).cost_eur, 2e-10);
    assert.equal(cost("b", 5, 0, table).cost_eur, 3e-10);
    assert.equal(cost("b", 1, 0, table).cost_eur, 1e-10);
    assert.equal(cost("b", 0, 1, table).cost_eur, 0);
  });

  await t.step("above 100,000 EUR the number is the nearest double of the exact decimal", () => {
    const table = priceTableFromOverrides({
      big: { input_eur_per_token: "0.0001234567890123", output_eur_per_token: 0 },
    });
    // Exact: 1,000,000,007 × 0.0001234567890123 = 123456.78987649752... → 10 places.
    assert.equal(cost("big", 1_000_000_007, 0, table).cost_eur, Number("123456.7898764975"));
  });
});

Deno.test("computeCost() refuses token counts that are not integers >= 0", () => {
  for (
    const [change, path] of [
      [{ prompt_tokens: -1 }, "prompt_tokens"],
      [{ completion_tokens: 1.5 }, "completion_tokens"],
      [{ prompt_tokens: Number.NaN }, "prompt_tokens"],
      [{ prompt_tokens: 2 ** 53 }, "prompt_tokens"],
      [{ completion_tokens: "10" }, "completion_tokens"],
      [{ model: "" }, "model"],
    ] as const
  ) {
    const request = { model: "gpt-4o", prompt_tokens: 1, completion_tokens: 1, ...change };
    assert.throws(
      () => computeCost(request as never, TABLE),
      (error) => error instanceof ValidationError && error.issues[0].path === path,
      path,
    );
  }
});

Deno.test("parseLiteLlmPriceMap() refuses a bad rate, date or map", () => {
  for (const usdToEur of [0, -0.9, Number.NaN, Infinity, "0.92"]) {
    assert.throws(
      () => parseLiteLlmPriceMap({}, { usdToEur: usdToEur as number }),
      {
        name: "ValidationError",
        code: "VALIDATION_FAILED",
        issues: [{ path: "usdToEur", message: "expected a positive number (EUR per USD)" }],
      },
    );
  }
  assert.throws(() => parseLiteLlmPriceMap({}, { usdToEur: 1, takenAt: new Date("nope") }), {
    issues: [{ path: "takenAt", message: "expected a valid Date" }],
  });
  for (const json of ["{not json", "[]", [], null, 42]) {
    assert.throws(() => parseLiteLlmPriceMap(json, { usdToEur: 1 }), ValidationError, String(json));
  }
});

Deno.test("parseLiteLlmPriceMap() keeps a model named __proto__ as data", () => {
  const table = parseLiteLlmPriceMap(
    '{"__proto__": {"input_cost_per_token": 1e-6, "output_cost_per_token": 0}}',
    {
      usdToEur: 1,
    },
  );
  assert.equal(eur("__proto__", 1000, 0, table), "0.001");
  assert.equal(Object.getPrototypeOf(table.models), null);
});

Deno.test("priceTableFromOverrides() builds an overrides-static table", () => {
  const table = priceTableFromOverrides({
    "acme-llm": {
      provider: "acme",
      input_eur_per_token: "0.000001",
      output_eur_per_token: 3e-6,
      tiers: [{
        above_prompt_tokens: 100_000,
        input_eur_per_token: "0.000002",
        output_eur_per_token: "0.000006",
      }],
    },
    "gpt-4o": { input_eur_per_token: "0.0000021", output_eur_per_token: "0.0000084" },
  }, { source: "contract-2025.yaml", takenAt: TAKEN_AT });
  assert.deepEqual({ ...table.snapshot, digest: "…" }, {
    pricing_version: "overrides-static",
    source: "contract-2025.yaml",
    usd_to_eur: null,
    taken_at: "2025-03-01T06:00:00.000Z",
    digest: "…",
  });
  assert.deepEqual(cost("acme-llm", 100_000, 10, table), {
    cost_eur: 0.10003,
    cost_status: "calculated",
    pricing_version: "overrides-static",
  });
  assert.equal(eur("acme/acme-llm", 100_001, 10, table), "0.200062");
  assert.deepEqual(cost("openai/gpt-4o", 1, 1, table), UNAVAILABLE); // no provider given
  assert.equal(eur("gpt-4o", 1, 1, table), "0.0000105");
});

Deno.test("priceTableFromOverrides() refuses bad prices, keys and tiers with their path", () => {
  const cases: [unknown, string][] = [
    [{ m: { input_eur_per_token: -1, output_eur_per_token: 0 } }, "m.input_eur_per_token"],
    [{ m: { input_eur_per_token: "1,5", output_eur_per_token: 0 } }, "m.input_eur_per_token"],
    [{ m: { input_eur_per_token: 0 } }, "m.output_eur_per_token"],
    [{ m: { input_eur_per_token: 0, output_eur_per_token: 0, currency: "USD" } }, "m.currency"],
    [{
      m: {
        input_eur_per_token: 0,
        output_eur_per_token: 0,
        tiers: [
          { above_prompt_tokens: 200_000, input_eur_per_token: 0, output_eur_per_token: 0 },
          { above_prompt_tokens: 128_000, input_eur_per_token: 0, output_eur_per_token: 0 },
        ],
      },
    }, "m.tiers"],
    [{
      m: {
        input_eur_per_token: 0,
        output_eur_per_token: 0,
        tiers: [{ above_prompt_tokens: 1.5, input_eur_per_token: 0, output_eur_per_token: 0 }],
      },
    }, "m.tiers.0.above_prompt_tokens"],
  ];
  for (const [overrides, path] of cases) {
    assert.throws(
      () => priceTableFromOverrides(overrides as never),
      (error) => error instanceof ValidationError && error.issues[0].path === path,
      path,
    );
  }
});

Deno.test("computeCost() refuses a hand-built table with a non-decimal price", () => {
  const table: PriceTable = {
    snapshot: TABLE.snapshot,
    models: {
      m: { provider: null, input_eur_per_token: "1e-6x", output_eur_per_token: "0", tiers: [] },
    },
  };
  assert.throws(() => cost("m", 1, 1, table), {
    name: "ValidationError",
    issues: [{
      path: "models.m.input_eur_per_token",
      message: "expected non-negative decimal text",
    }],
  });
});

Deno.test("computeCost() results spread into EmitLlmCallArgs", () => {
  const call = {
    span_id: "00f067aa0ba902b7",
    prompt_tokens: 1000,
    completion_tokens: 100,
    idempotency_key: {
      tenant_id: "0b9c2f4e-6a1d-4c3e-9f7a-2d5b8e1c4a60",
      trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
      span_id: "00f067aa0ba902b7",
      event_type: "llm.call",
      content_hash: computeContentHash({}),
    },
  };
  for (const model of ["gpt-4o", "gpt-99"]) {
    const args = { ...call, model, ...computeCost({ ...call, model }, TABLE) };
    assert.equal(EmitLlmCallArgs.safeParse(args).success, true, model);
  }
});

Deno.test("PricingVersion and CostStatus are the kernel API's wire values", () => {
  const schema = z.toJSONSchema(EmitLlmCallArgs as unknown as z.ZodType) as unknown as {
    properties: Record<string, { enum: string[] }>;
  };
  assert.deepEqual(Object.values(PricingVersion), schema.properties.pricing_version.enum);
  assert.deepEqual(Object.values(CostStatus), schema.properties.cost_status.enum);
  assert.ok(Object.isFrozen(PricingVersion) && Object.isFrozen(CostStatus));
});
