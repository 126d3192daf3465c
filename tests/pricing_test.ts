import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import {
  computeCost,
  parseLiteLlmPriceMap,
  priceTableFromOverrides,
  pricingProvenance,
} from "../src/pricing.ts";
import type { PriceTable } from "../src/price_table.ts";
import { EmitLlmCallArgs } from "../src/kernel_api.ts";
import { llmCall } from "./_helpers.ts";
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
  const tenantId = "0b9c2f4e-6a1d-4c3e-9f7a-2d5b8e1c4a60";
  for (const model of ["gpt-4o", "gpt-99"]) {
    const { cost_eur: _, ...call } = llmCall(tenantId, {
      call: { model, prompt_tokens: 1000 },
    });
    const args = { ...call, ...computeCost({ ...call, completion_tokens: 100 }, TABLE) };
    assert.equal(EmitLlmCallArgs.safeParse(args).success, true, model);
  }
});

// ---- Real entries of LiteLLM's current map (tests/fixtures/litellm_real_prices.md derives
// every expected cost below by hand from LiteLLM's formula).

const REAL = parseLiteLlmPriceMap(
  JSON.parse(
    await readFile(new URL("./fixtures/litellm_real_prices.json", import.meta.url), "utf8"),
  ),
  { usdToEur: RATE, takenAt: TAKEN_AT, source: "litellm_real_prices.json" },
);

interface Usage {
  p: number;
  c?: number;
  cr?: number;
  cc?: number;
  r?: number;
}

/** The exact 10-decimal EUR text of a call on `table` (default: the real entries). */
function real(model: string, { p, c = 0, cr, cc, r }: Usage, table = REAL): string {
  const result = computeCost({
    model,
    prompt_tokens: p,
    completion_tokens: c,
    ...(cr === undefined ? {} : { cache_read_input_tokens: cr }),
    ...(cc === undefined ? {} : { cache_creation_input_tokens: cc }),
    ...(r === undefined ? {} : { reasoning_tokens: r }),
  }, table);
  assert.equal(result.cost_status, "calculated", model);
  // The double's 10-decimal text (String() would write small costs with an exponent).
  return result.cost_eur!.toFixed(10).replace(/\.?0+$/, "");
}

Deno.test("parseLiteLlmPriceMap() reads every token-priced shape of the real map", () => {
  assert.deepEqual(Object.keys(REAL.models).sort(), [
    "claude-sonnet-4-20250514",
    "dashscope/qwen-plus-latest",
    "dashscope/qwen-turbo",
    "dashscope/qwen3-coder-plus",
    "dashscope/qwen3-max",
    "deepseek-chat",
    "gemini/gemini-2.5-computer-use-preview-10-2025",
    "gemini/gemini-2.5-pro",
  ]);
  assert.deepEqual(
    computeCost({ model: "dashscope/qwen3-30b-a3b", prompt_tokens: 1, completion_tokens: 1 }, REAL),
    UNAVAILABLE,
  );
  // USD × 0.9234 exactly; the 1-hour cache-write price is not a tier.
  assert.deepEqual(REAL.models["claude-sonnet-4-20250514"], {
    provider: "anthropic",
    input_eur_per_token: "0.0000027702",
    output_eur_per_token: "0.000013851",
    cache_read_eur_per_token: "0.00000027702",
    cache_creation_eur_per_token: "0.00000346275",
    tiers: [{
      above_prompt_tokens: 200_000,
      input_eur_per_token: "0.0000055404",
      output_eur_per_token: "0.0000207765",
      cache_read_eur_per_token: "0.00000055404",
      cache_creation_eur_per_token: "0.0000069255",
    }],
  });
  // An entry priced only by tiered_pricing: ranges, and its lowest range as flat prices.
  const plus = REAL.models["dashscope/qwen-plus-latest"];
  assert.deepEqual(plus.ranges?.map((r) => [r.above_prompt_tokens, r.up_to_prompt_tokens]), [
    [0, 256_000],
    [256_000, 1_000_000],
  ]);
  assert.equal(plus.input_eur_per_token, plus.ranges?.[0].input_eur_per_token);
  assert.equal(plus.reasoning_eur_per_token, "0.0000036936");
  assert.ok(Object.isFrozen(plus.ranges) && Object.isFrozen(plus.ranges?.[0]));
});

Deno.test("computeCost() bills flat entries per token class (deepseek-chat, qwen-turbo)", async (t) => {
  await t.step("cache reads at the cache price (A1)", () => {
    assert.equal(real("deepseek-chat", { p: 10_000, cr: 4000, c: 1000 }), "0.0020425608");
  });
  await t.step("no cache-write or reasoning price: input and output price, never 0 (A2)", () => {
    assert.equal(
      real("deepseek-chat", { p: 10_000, cr: 4000, cc: 1000, c: 1000, r: 300 }),
      "0.0020425608",
    );
    // Each class alone.
    assert.equal(real("deepseek-chat", { p: 1000, cc: 1000 }), real("deepseek-chat", { p: 1000 }));
    assert.equal(
      real("deepseek-chat", { p: 0, c: 1000, r: 1000 }),
      real("deepseek-chat", { p: 0, c: 1000 }),
    );
    assert.equal(real("deepseek-chat", { p: 1000, cr: 1000 }), "0.0000258552"); // 1000 × 2.8e-8 × 0.9234
  });
  await t.step("reasoning at its own price (B1), cache reads at input on dashscope (B2)", () => {
    assert.equal(real("dashscope/qwen-turbo", { p: 2000, c: 1000, r: 600 }), "0.000443232");
    assert.equal(real("dashscope/qwen-turbo", { p: 2000, cr: 500, c: 1000 }), "0.00027702");
    assert.equal(real("dashscope/qwen-turbo", { p: 0, c: 1, r: 1 }), "0.0000004617"); // 5e-7 × 0.9234
  });
});

Deno.test("computeCost() applies _above_200k_tokens tiers to every class (claude, gemini)", async (t) => {
  await t.step("claude-sonnet-4: 200,000 base (C1), 200,001 tier for all classes (C2)", () => {
    const usage = { cr: 150_000, cc: 20_000, c: 4000, r: 1000 };
    assert.equal(real("claude-sonnet-4-20250514", { p: 200_000, ...usage }), "0.249318");
    assert.equal(real("claude-sonnet-4-20250514", { p: 200_001, ...usage }), "0.4709395404");
    assert.equal(real("claude-sonnet-4-20250514", { p: 199_999 }), "0.5540372298");
    // Prefixed as LiteLLM's provider: one prefix stripped.
    assert.equal(real("anthropic/claude-sonnet-4-20250514", { p: 199_999 }), "0.5540372298");
  });
  await t.step(
    "gemini-2.5-pro: cache writes at the tier's input price (D1), boundary (D2, D3)",
    () => {
      assert.equal(
        real("gemini/gemini-2.5-pro", { p: 250_000, cr: 100_000, cc: 50_000, c: 2000, r: 1500 }),
        "0.397062",
      );
      assert.equal(real("gemini/gemini-2.5-pro", { p: 200_000, c: 1000 }), "0.240084");
      assert.equal(real("gemini/gemini-2.5-pro", { p: 200_001, c: 1000 }), "0.4755533085");
      // The tier is chosen by all prompt tokens, cached ones included.
      assert.equal(real("gemini/gemini-2.5-pro", { p: 200_001, cr: 200_001 }), "0.0461702309"); // 200,001 × 2.5e-7 × 0.9234 = 0.04617023085
    },
  );
  await t.step("no cache prices at all: cache reads at the tier's input price (E1)", () => {
    assert.equal(
      real("gemini/gemini-2.5-computer-use-preview-10-2025", { p: 300_000, cr: 100_000 }),
      "0.69255",
    );
  });
});

Deno.test("computeCost() picks one tiered_pricing range for the whole call (dashscope)", async (t) => {
  await t.step("qwen-plus-latest: 256,000 is the first range (F1), 256,001 the second (F2)", () => {
    assert.equal(
      real("dashscope/qwen-plus-latest", { p: 256_000, c: 1000, r: 400 }),
      "0.096698448",
    );
    assert.equal(
      real("dashscope/qwen-plus-latest", { p: 256_001, c: 1000, r: 400 }),
      "0.2900964521",
    );
    assert.equal(real("dashscope/qwen-plus-latest", { p: 1, c: 1 }), "0.0000014774");
  });
  await t.step("a zero-token prompt gets the lowest range, not LiteLLM's 0 (F4)", () => {
    assert.equal(real("dashscope/qwen-plus-latest", { p: 0, c: 1000, r: 400 }), "0.002142288");
  });
  await t.step("a range without a cache price bills cache tokens at its input price (F5)", () => {
    assert.equal(real("dashscope/qwen-plus-latest", { p: 5000, cr: 1000 }), "0.0018468");
    assert.equal(real("dashscope/qwen-plus-latest", { p: 5000, cc: 5000 }), "0.0018468");
  });
  await t.step("qwen3-coder-plus: range cache prices at 32,000 (G1) and 32,001 (G2)", () => {
    assert.equal(
      real("dashscope/qwen3-coder-plus", { p: 32_000, cr: 12_000, c: 100 }),
      "0.02003778",
    );
    assert.equal(
      real("dashscope/qwen3-coder-plus", { p: 32_001, cr: 12_000, c: 100 }),
      "0.0360696661",
    );
  });
  await t.step(
    "the top of the highest range (G3, H1) and above it: the last range (G4, H2)",
    () => {
      assert.equal(real("dashscope/qwen3-coder-plus", { p: 1_000_000, c: 10 }), "5.54095404");
      assert.equal(real("dashscope/qwen3-coder-plus", { p: 1_000_001, c: 10 }), "5.5409595804");
      assert.equal(real("dashscope/qwen3-max", { p: 252_000 }), "0.6980904");
      assert.equal(real("dashscope/qwen3-max", { p: 252_001 }), "0.6980931702");
    },
  );
});

Deno.test("computeCost() follows the provider threshold rules (xAI inclusive, dashscope none)", () => {
  // Hand-written entries in LiteLLM's format: the rule is the provider's, the prices arbitrary.
  const entry = (provider: string) => ({
    litellm_provider: provider,
    input_cost_per_token: 1e-6,
    output_cost_per_token: 2e-6,
    output_cost_per_reasoning_token: 5e-6,
    input_cost_per_token_above_128k_tokens: 3e-6,
    output_cost_per_token_above_128k_tokens: 4e-6,
  });
  const table = parseLiteLlmPriceMap(
    { "xai/grok-x": entry("xai"), "acme/m": entry("acme"), "dashscope/q": entry("dashscope") },
    { usdToEur: 1 },
  );
  // xAI (utils.py _INCLUSIVE_THRESHOLD_PROVIDERS): 128,000 is already the tier ...
  assert.equal(real("xai/grok-x", { p: 127_999 }, table), "0.127999");
  assert.equal(real("xai/grok-x", { p: 128_000 }, table), "0.384");
  // ... and reasoning is billed as completion (xai/cost_calculator.py): the output price.
  assert.equal(real("xai/grok-x", { p: 0, c: 10, r: 10 }, table), "0.00002");
  // Elsewhere 128,000 is still the base price; reasoning keeps its own (untiered) price.
  assert.equal(real("acme/m", { p: 128_000 }, table), "0.128");
  assert.equal(real("acme/m", { p: 128_001, c: 10, r: 4 }, table), "0.384047"); // 128,001×3e-6 + 6×4e-6 + 4×5e-6
  // dashscope's calculator has no _above_ tiers.
  assert.equal(real("dashscope/q", { p: 300_000 }, table), "0.3");
});

Deno.test("computeCost() on Vertex AI: the 128k rule of vertex_ai/cost_calculator.py", () => {
  const table = parseLiteLlmPriceMap({
    "gemini-v": {
      litellm_provider: "vertex_ai-language-models",
      input_cost_per_token: 1e-6,
      input_cost_per_token_above_128k_tokens: 2e-6,
      output_cost_per_token: 3e-6,
      output_cost_per_token_above_128k_tokens: 6e-6,
      cache_read_input_token_cost: 1e-7,
      output_cost_per_reasoning_token: 9e-6,
    },
  }, { usdToEur: 1 });
  // The input tier counts prompt tokens without cache writes: 130,000 - 5,000 <= 128,000.
  assert.equal(real("gemini-v", { p: 130_000, cc: 5000 }, table), "0.13"); // all at 1e-6 (no write price)
  assert.equal(real("gemini-v", { p: 133_001, cc: 5000 }, table), "0.266002"); // tier 2e-6
  // Cache reads keep the entry's price in the tier; reasoning is output.
  assert.equal(real("gemini-v", { p: 200_000, cr: 100_000, c: 10, r: 10 }, table), "0.21003");
});

Deno.test("computeCost() prices cache and reasoning classes from overrides, tiers included", () => {
  const table = priceTableFromOverrides({
    m: {
      input_eur_per_token: "0.000001",
      output_eur_per_token: "0.000002",
      cache_read_eur_per_token: "0.0000001",
      cache_creation_eur_per_token: "0.00000125",
      reasoning_eur_per_token: "0.000005",
      tiers: [{
        above_prompt_tokens: 1000,
        input_eur_per_token: "0.000002",
        output_eur_per_token: "0.000004",
        cache_read_eur_per_token: "0.0000002",
      }],
    },
  });
  // Base: 100 × 1e-6 + 500 × 1e-7 + 400 × 1.25e-6 + 10 × 2e-6 + 5 × 5e-6.
  assert.equal(real("m", { p: 1000, cr: 500, cc: 400, c: 15, r: 5 }, table), "0.000695");
  // Tier: its own cache-read price, the model's cache-write price (tier has none).
  // 101 × 2e-6 + 500 × 2e-7 + 400 × 1.25e-6 + 10 × 4e-6 + 5 × 5e-6.
  assert.equal(real("m", { p: 1001, cr: 500, cc: 400, c: 15, r: 5 }, table), "0.000867");
  assert.throws(
    () =>
      priceTableFromOverrides({
        m: { input_eur_per_token: 0, output_eur_per_token: 0, reasoning_eur_per_token: "x" },
      }),
    (error) =>
      error instanceof ValidationError && error.issues[0].path === "m.reasoning_eur_per_token",
  );
});

Deno.test("computeCost() refuses impossible token counts, naming the field", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ prompt_tokens: 10, cache_read_input_tokens: 11 }, "cache_read_input_tokens"],
    [
      { prompt_tokens: 10, cache_read_input_tokens: 6, cache_creation_input_tokens: 5 },
      "cache_creation_input_tokens",
    ],
    [{ prompt_tokens: 10, cache_creation_input_tokens: 11 }, "cache_creation_input_tokens"],
    [{ completion_tokens: 3, reasoning_tokens: 4 }, "reasoning_tokens"],
    [{ cache_read_input_tokens: -1 }, "cache_read_input_tokens"],
    [{ cache_creation_input_tokens: 0.5 }, "cache_creation_input_tokens"],
    [{ reasoning_tokens: "1" }, "reasoning_tokens"],
    [{ reasoning_tokens: Number.NaN }, "reasoning_tokens"],
  ];
  for (const [change, path] of cases) {
    const request = { model: "deepseek-chat", prompt_tokens: 10, completion_tokens: 10, ...change };
    assert.throws(
      () => computeCost(request as never, REAL),
      (error) =>
        error instanceof ValidationError && error.code === "VALIDATION_FAILED" &&
        error.issues.length === 1 && error.issues[0].path === path,
      path,
    );
  }
  // At the limits: all prompt tokens cached, all completion tokens reasoning.
  assert.equal(real("deepseek-chat", { p: 10, cr: 6, cc: 4, c: 3, r: 3 }), "0.0000023528"); // (6×2.8e-8 + 4×2.8e-7 + 3×4.2e-7) × 0.9234 = 0.0000023528232
});

Deno.test("pricingProvenance() identifies the prices: digest, source, time and rate", () => {
  const provenance = pricingProvenance(REAL);
  assert.deepEqual(provenance, {
    pricing_version: "litellm-live",
    source: "litellm_real_prices.json",
    taken_at: "2025-03-01T06:00:00.000Z",
    fx_usd_eur: "0.9234",
    digest: REAL.snapshot.digest,
  });
  // The digest is of the EUR prices: key order does not matter, a price or the rate does.
  const map = JSON.parse(MAP_TEXT);
  const reversed = Object.fromEntries(Object.entries(map).reverse());
  assert.equal(
    parseLiteLlmPriceMap(reversed, { usdToEur: RATE }).snapshot.digest,
    TABLE.snapshot.digest,
  );
  assert.notEqual(
    parseLiteLlmPriceMap(map, { usdToEur: 0.9235 }).snapshot.digest,
    TABLE.snapshot.digest,
  );
  map["gpt-4o"].cache_read_input_token_cost = 1.3e-6;
  assert.notEqual(
    parseLiteLlmPriceMap(map, { usdToEur: RATE }).snapshot.digest,
    TABLE.snapshot.digest,
  );
  // A hand-built table without a digest gets the same one computed.
  const { digest: _, ...bare } = TABLE.snapshot;
  assert.equal(
    pricingProvenance({ snapshot: bare, models: TABLE.models }).digest,
    TABLE.snapshot.digest,
  );
  assert.equal(pricingProvenance(priceTableFromOverrides({})).fx_usd_eur, null);
});
