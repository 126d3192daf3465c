// Node smoke suite for the pure contracts (`@tracepulse/plm-shared`), run by `deno task node`
// in a fresh npm project where the packed npm package is installed (node:test, node:assert).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import * as plm from "@tracepulse/plm-shared";
import { llmCall, SPAN, TENANT, TRACE } from "./_fixtures.mjs";
import * as plmMigrate from "@tracepulse/plm-shared/migrate";
import * as plmPostgres from "@tracepulse/plm-shared/postgres";

describe("contracts under Node", () => {
  it("schemas parse valid arguments and reject unknown fields", () => {
    assert.equal(plm.EmitLlmCallArgs.parse(llmCall()).model, "gpt-4o");
    assert.throws(() => plm.EmitLlmCallArgs.parse({ ...llmCall(), modle: "typo" }));
    assert.throws(() => plm.EmitLlmCallArgs.parse(llmCall({ cost_eur: undefined })));
  });

  it("computeContentHash() is SHA-256 of the RFC 8785 canonical JSON", () => {
    const canonical = '{"a":[true,null],"b":1,"c":"é"}';
    const expected = createHash("sha256").update(canonical, "utf8").digest("hex");
    assert.equal(plm.computeContentHash({ c: "é", b: 1, a: [true, null] }), expected);
    assert.throws(() => plm.computeContentHash({ x: NaN }), plm.NonJsonValueError);
  });

  it("idempotencyKeyToString() gives the versioned v1 form", () => {
    assert.match(plm.idempotencyKeyToString(llmCall().idempotency_key), /^v1:/);
  });

  it("trace and tenant context survive awaits and timers, and stay apart", async () => {
    const seen = [];
    const run = (tenant) => {
      const ctx = plm.newTraceContext();
      return plm.withTenant(tenant, () =>
        plm.withTraceContext(ctx, async () => {
          await sleep(5);
          await new Promise((resolve) => setImmediate(resolve));
          const child = plm.childSpan();
          seen.push([
            plm.requireTenant(),
            child.traceId === ctx.traceId,
            plm.currentTraceContext(),
          ]);
          assert.equal(plm.currentTraceContext(), ctx);
        }));
    };
    await Promise.all([run(TENANT), run("7c9e6679-7425-40de-944b-e07fc1f90ae7")]);
    assert.deepEqual(seen.map(([tenant]) => tenant).sort(), [
      TENANT,
      "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    ]);
    assert.ok(seen.every(([, sameTrace]) => sameTrace));
    assert.equal(plm.currentTraceContext(), undefined);
    assert.throws(() => plm.requireTenant(), plm.ContextMissingError);
  });

  it("traceparent headers round-trip", () => {
    const header = `00-${TRACE}-${SPAN}-01`;
    const ctx = plm.parseTraceparent(header);
    assert.equal(ctx.traceId, TRACE);
    assert.equal(plm.formatTraceparent(ctx), header);
    assert.equal(plm.parseTraceparent(`00-${"0".repeat(32)}-${SPAN}-01`), undefined);
  });

  it("computeCost() prices a LiteLLM map in EUR and refuses to guess", () => {
    const table = plm.parseLiteLlmPriceMap({
      "gpt-4o": {
        input_cost_per_token: 2.5e-6,
        output_cost_per_token: 1e-5,
        litellm_provider: "openai",
      },
    }, { usdToEur: 0.92 });
    const request = { model: "gpt-4o", prompt_tokens: 1000, completion_tokens: 100 };
    assert.deepEqual(plm.computeCost(request, table), {
      cost_eur: 0.00322,
      cost_status: "calculated",
      pricing_version: "litellm-live",
    });
    assert.equal(
      plm.computeCost({ ...request, model: "unknown" }, table).cost_status,
      "unavailable",
    );
  });

  it("MemoryKernelEmitter records, replays and reports a conflict", async () => {
    const emitter = new plm.MemoryKernelEmitter({ tenantId: TENANT });
    await emitter.recordLlmCall(llmCall());
    await emitter.recordLlmCall(llmCall());
    assert.equal(emitter.rows("llm_calls").length, 1);
    const other = llmCall({ prompt_tokens: 2000 });
    other.idempotency_key = { ...other.idempotency_key, content_hash: "f".repeat(64) };
    await assert.rejects(emitter.recordLlmCall(other), (error) => {
      assert.ok(error instanceof plm.IdempotencyConflict);
      assert.equal(error.code, "IDEMPOTENCY_CONFLICT");
      return true;
    });
  });

  it("error classes are the same across entry points", () => {
    assert.equal(plmPostgres.IdempotencyConflict, plm.IdempotencyConflict);
    assert.equal(plmPostgres.EmitterUnavailable, plm.EmitterUnavailable);
    assert.equal(plmMigrate.MigrationError, plm.MigrationError);
    assert.equal(plmMigrate.migrate, plmPostgres.migrate);
  });
});
