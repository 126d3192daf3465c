import assert from "node:assert/strict";
import {
  context,
  createTraceState,
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  trace,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { connect } from "../src/db.ts";
import {
  EmitterUnavailable,
  IdempotencyConflict,
  OtelSpanRefused,
  ValidationError,
} from "../src/errors.ts";
import { idempotencyKeyToString } from "../src/idempotency.ts";
import { MemoryKernelEmitter } from "../src/memory_kernel_emitter.ts";
import {
  connectorCallToGenAiAttributes,
  GEN_AI_SEMCONV_VERSION,
  genAiAttributesToConnectorCall,
  genAiAttributesToLlmCall,
  type GenAiLlmCall,
  llmCallToGenAiAttributes,
} from "../src/otel_gen_ai.ts";
import { KernelSpanProcessor } from "../src/otel_span_processor.ts";
import { installOtelTraceContext } from "../src/otel_trace_context.ts";
import { PostgresKernelEmitter } from "../src/postgres_kernel_emitter.ts";
import { priceTableFromOverrides } from "../src/pricing.ts";
import { withTenant } from "../src/tenant_context.ts";
import {
  childSpan,
  currentTraceContext,
  injectTraceContext,
  newTraceContext,
  requireTraceContext,
  withTraceContext,
} from "../src/trace_context.ts";
import { CHAT_CALL, CHAT_CONTENT, chatKey, chatSpan, tracing } from "./_otel.ts";

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const tracer = new BasicTracerProvider().getTracer("plm-test");
const TENANT_A = "0b9c2f4e-6a1d-4c3e-9f7a-2d5b8e1c4a60";
const TENANT_B = "5d7e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("installOtelTraceContext() makes the active span current across awaits and timers", async () => {
  using _bridge = installOtelTraceContext();
  await tracer.startActiveSpan("work", async (span) => {
    const { traceId, spanId } = span.spanContext();
    await sleep(2);
    assert.deepEqual(currentTraceContext(), { traceId, spanId, traceFlags: 1, traceState: [] });
    const fromTimer = await new Promise((resolve) =>
      setTimeout(() => resolve(currentTraceContext()), 1)
    );
    assert.equal((fromTimer as { spanId: string }).spanId, spanId);
    assert.ok(Object.isFrozen(requireTraceContext()));
    const child = childSpan();
    assert.equal(child.traceId, traceId);
    assert.equal(child.parentSpanId, spanId);
    assert.equal(
      injectTraceContext(new Headers()).get("traceparent"),
      `00-${traceId}-${spanId}-01`,
    );
    span.end();
  });
  assert.equal(currentTraceContext(), undefined);
});

Deno.test("installOtelTraceContext() keeps concurrent spans apart", async () => {
  using _bridge = installOtelTraceContext();
  const seen = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      tracer.startActiveSpan(`work ${i}`, async (span) => {
        const ids: string[] = [];
        for (let step = 0; step < 3; step++) {
          await sleep(Math.random() * 3);
          ids.push(requireTraceContext().spanId);
        }
        span.end();
        return { expected: span.spanContext().spanId, ids };
      })),
  );
  for (const { expected, ids } of seen) assert.deepEqual(ids, [expected, expected, expected]);
});

Deno.test("installOtelTraceContext() carries tracestate and the sampled bit", () => {
  using _bridge = installOtelTraceContext();
  const remote = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    traceFlags: 0,
    isRemote: true,
    traceState: createTraceState("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"),
  });
  context.with(remote, () => {
    const ctx = requireTraceContext();
    assert.equal(ctx.spanId, "00f067aa0ba902b7");
    assert.equal(ctx.traceFlags, 0);
    assert.deepEqual(ctx.traceState, [["congo", "t61rcWkgMzE"], ["rojo", "00f067aa0ba902b7"]]);
    tracer.startActiveSpan("child", (span) => {
      assert.equal(requireTraceContext().traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
      assert.equal(requireTraceContext().spanId, span.spanContext().spanId);
      assert.equal(requireTraceContext().traceState.length, 2);
      span.end();
    });
  });
});

Deno.test("installOtelTraceContext(): an explicit plm context wins over the active span", async () => {
  using _bridge = installOtelTraceContext();
  const plm = newTraceContext();
  await tracer.startActiveSpan("work", async (span) => {
    await withTraceContext(plm, async () => {
      await sleep(1);
      assert.equal(currentTraceContext(), plm);
    });
    assert.equal(currentTraceContext()?.spanId, span.spanContext().spanId);
    span.end();
  });
});

Deno.test("installOtelTraceContext() ignores invalid span contexts; disposing uninstalls", () => {
  const bridge = installOtelTraceContext();
  context.with(trace.setSpan(ROOT_CONTEXT, trace.wrapSpanContext(INVALID_SPAN_CONTEXT)), () => {
    assert.equal(currentTraceContext(), undefined);
  });
  const upper = trace.wrapSpanContext({
    traceId: "4BF92F3577B34DA6A3CE929D0E0E4736",
    spanId: "00F067AA0BA902B7",
    traceFlags: 1,
  });
  context.with(trace.setSpan(ROOT_CONTEXT, upper), () => {
    assert.equal(currentTraceContext(), undefined);
  });
  bridge[Symbol.dispose]();
  tracer.startActiveSpan("work", (span) => {
    assert.equal(currentTraceContext(), undefined);
    span.end();
  });
});

Deno.test("GenAI attributes: the names of semantic conventions v1.41.0", () => {
  assert.equal(GEN_AI_SEMCONV_VERSION, "1.41.0");
  assert.deepEqual(llmCallToGenAiAttributes(CHAT_CALL, { providerName: "openai" }), {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.usage.cache_read.input_tokens": 1000,
    "gen_ai.usage.reasoning.output_tokens": 120,
    "plm.cost_status": "calculated",
    "plm.pricing_version": "litellm-live",
    "gen_ai.usage.cost.amount": 0.0041,
    "gen_ai.usage.cost.currency": "EUR",
    "gen_ai.usage.cost.source": "local",
  });
  assert.deepEqual(
    connectorCallToGenAiAttributes({
      connector_id: "3dx-rest",
      capability: "read.parts",
      pricing_version: "overrides-static",
      cost_eur: 0.002,
      cost_status: "calculated",
    }),
    {
      "gen_ai.operation.name": "execute_tool",
      "gen_ai.tool.name": "3dx-rest",
      "gen_ai.tool.type": "extension",
      "plm.capability": "read.parts",
      "plm.cost_status": "calculated",
      "plm.pricing_version": "overrides-static",
      "gen_ai.usage.cost.amount": 0.002,
      "gen_ai.usage.cost.currency": "EUR",
      "gen_ai.usage.cost.source": "local",
    },
  );
});

Deno.test("GenAI attributes round trip through a real SDK span", async () => {
  const t = tracing(() => new MemoryKernelEmitter({ tenantId: TENANT_A }));
  const calls: GenAiLlmCall[] = [
    CHAT_CALL,
    {
      model: "anthropic/claude-sonnet-4",
      prompt_tokens: 0,
      completion_tokens: 7,
      cache_creation_input_tokens: 0,
      pricing_version: "overrides-static",
      cost_status: "pending",
    },
    {
      model: "m",
      prompt_tokens: 1,
      completion_tokens: 1,
      pricing_version: "unavailable",
      cost_status: "unavailable",
    },
  ];
  for (const call of calls) {
    const span = await chatSpan(t, call);
    assert.deepEqual(genAiAttributesToLlmCall(span.attributes), call);
  }
  const connector = {
    connector_id: "3dx-rest",
    capability: "x.bom.diff",
    pricing_version: "unavailable",
    cost_status: "unavailable",
  } as const;
  const span = t.tracer.startSpan("execute_tool 3dx-rest");
  span.setAttributes(connectorCallToGenAiAttributes(connector));
  span.end();
  assert.deepEqual(genAiAttributesToConnectorCall(t.finished().at(-1)!.attributes), connector);
});

Deno.test("genAiAttributesToLlmCall() reads foreign instrumentations and refuses bad types", () => {
  const foreign = {
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "gen_ai.usage.input_tokens": 10,
    "gen_ai.usage.output_tokens": 2,
    "gen_ai.usage.cost.amount": 0.5,
    "gen_ai.usage.cost.currency": "USD",
  };
  assert.deepEqual(genAiAttributesToLlmCall(foreign), {
    model: "gpt-4o-2024-08-06",
    prompt_tokens: 10,
    completion_tokens: 2,
    pricing_version: "unavailable",
    cost_status: "unavailable",
  });
  const refused = (attributes: Record<string, unknown>) => {
    try {
      genAiAttributesToLlmCall(attributes as never);
    } catch (error) {
      assert.ok(error instanceof ValidationError);
      assert.equal(error.contract, "GenAiLlmCallAttributes");
      return error.issues.map((issue) => issue.path);
    }
    assert.fail("expected a ValidationError");
  };
  assert.deepEqual(refused({ "gen_ai.operation.name": "chat" }), [
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
  ]);
  assert.deepEqual(refused({ ...foreign, "gen_ai.usage.input_tokens": "10" }), [
    "gen_ai.usage.input_tokens",
  ]);
  assert.deepEqual(refused({ ...foreign, "plm.cost_status": "calculated" }), [
    "gen_ai.usage.cost.currency",
  ]);
  assert.deepEqual(refused({ ...foreign, "plm.cost_status": "free" }), ["plm.cost_status"]);
});

Deno.test("KernelSpanProcessor records a span once, however often it is exported", async () => {
  const emitter = new MemoryKernelEmitter({ tenantId: TENANT_A });
  const t = tracing(() => emitter);
  const span = await withTenant(TENANT_A, () => chatSpan(t));
  t.processor.onEnd(span);
  t.processor.onEnd(span);
  await t.provider.forceFlush();
  assert.deepEqual(t.errors, []);
  const rows = emitter.rows("llm_calls");
  assert.equal(rows.length, 1);
  assert.deepEqual(rows[0].args, {
    span_id: span.spanContext().spanId,
    ...CHAT_CONTENT,
    idempotency_key: chatKey(TENANT_A, span),
  });
  assert.equal(rows[0].idempotency_key, idempotencyKeyToString(rows[0].args.idempotency_key));
});

Deno.test("KernelSpanProcessor never mixes the tenants of concurrent spans", async () => {
  const emitters = new Map(
    [TENANT_A, TENANT_B].map((id) => [id, new MemoryKernelEmitter({ tenantId: id })]),
  );
  const t = tracing((tenantId) => emitters.get(tenantId)!);
  const started = await Promise.all(
    Array.from({ length: 20 }, (_, i) => {
      const tenantId = i % 2 === 0 ? TENANT_A : TENANT_B;
      return withTenant(tenantId, async () => {
        await sleep(Math.random() * 3);
        const span = await chatSpan(t, { ...CHAT_CALL, prompt_tokens: 1000 + i });
        return { tenantId, spanId: span.spanContext().spanId };
      });
    }),
  );
  await t.processor.forceFlush();
  assert.deepEqual(t.errors, []);
  for (const [tenantId, emitter] of emitters) {
    const expected = started.filter((s) => s.tenantId === tenantId).map((s) => s.spanId).sort();
    const rows = emitter.rows("llm_calls");
    assert.deepEqual(rows.map((row) => row.span_id).sort(), expected);
    assert.ok(rows.every((row) => row.tenant_id === tenantId));
  }
});

Deno.test("KernelSpanProcessor refuses spans without one tenant, never stores them", async (t) => {
  const emitters = new Map(
    [TENANT_A, TENANT_B].map((id) => [id, new MemoryKernelEmitter({ tenantId: id })]),
  );
  const tr = tracing((tenantId) => emitters.get(tenantId)!);
  await t.step("no withTenant scope and no plm.tenant_id attribute", async () => {
    const span = await chatSpan(tr);
    await tr.processor.forceFlush();
    const [error, ...rest] = tr.errors.splice(0);
    assert.deepEqual(rest, []);
    assert.ok(error instanceof OtelSpanRefused);
    assert.equal(error.code, "SPAN_WITHOUT_TENANT");
    assert.equal(error.spanId, span.spanContext().spanId);
  });
  await t.step("an attribute naming another tenant than the scope", async () => {
    await withTenant(TENANT_A, () => chatSpan(tr, CHAT_CALL, { "plm.tenant_id": TENANT_B }));
    await tr.processor.forceFlush();
    const [error] = tr.errors.splice(0);
    assert.equal((error as OtelSpanRefused).code, "SPAN_TENANT_MISMATCH");
  });
  await t.step("an attribute that is not a tenant id", async () => {
    await chatSpan(tr, CHAT_CALL, { "plm.tenant_id": "default" });
    await tr.processor.forceFlush();
    const [error] = tr.errors.splice(0);
    assert.ok(error instanceof ValidationError);
  });
  for (const emitter of emitters.values()) assert.equal(emitter.rows("llm_calls").length, 0);
  await t.step("the attribute alone names the tenant", async () => {
    const span = await chatSpan(tr, CHAT_CALL, { "plm.tenant_id": TENANT_B.toUpperCase() });
    await tr.processor.forceFlush();
    assert.deepEqual(tr.errors, []);
    assert.equal(emitters.get(TENANT_B)!.rows("llm_calls")[0].span_id, span.spanContext().spanId);
    assert.equal(emitters.get(TENANT_A)!.rows("llm_calls").length, 0);
  });
});

Deno.test("KernelSpanProcessor reports conflicts, bad attributes and an unavailable database", async () => {
  const emitter = new MemoryKernelEmitter({ tenantId: TENANT_A });
  const t = tracing(() => emitter);
  const span = await withTenant(TENANT_A, () => chatSpan(t));
  await t.processor.forceFlush();
  t.processor.onEnd({
    spanContext: () => span.spanContext(),
    attributes: {
      ...span.attributes,
      "gen_ai.usage.output_tokens": 301,
      "plm.tenant_id": TENANT_A,
    },
  });
  await withTenant(TENANT_A, () => {
    const bad = t.tracer.startSpan("chat");
    bad.setAttributes({ "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o" });
    bad.end();
  });
  await t.processor.forceFlush();
  assert.equal(emitter.rows("llm_calls").length, 1);
  assert.equal(t.errors.length, 2);
  assert.equal(t.errors.filter((e) => e instanceof IdempotencyConflict).length, 1);
  assert.equal(t.errors.filter((e) => e instanceof ValidationError).length, 1);

  const sql = connect("postgres://postgres@127.0.0.1:1/none", { connectTimeout: 2 });
  const down = tracing(() => new PostgresKernelEmitter(sql, { tenantId: TENANT_A }));
  await withTenant(TENANT_A, () => chatSpan(down));
  await down.provider.shutdown();
  assert.equal(down.errors.length, 1);
  assert.ok(down.errors[0] instanceof EmitterUnavailable);
  await sql.end({ timeout: 1 });
});

Deno.test("KernelSpanProcessor ignores other spans and prices foreign ones with priceTable", async () => {
  const emitter = new MemoryKernelEmitter({ tenantId: TENANT_A });
  const priceTable = priceTableFromOverrides(
    { "gpt-4o": { input_eur_per_token: "0.000002", output_eur_per_token: "0.000008" } },
    { source: "contracts/test.yaml" },
  );
  const t = tracing(() => emitter, { priceTable });
  withTenant(TENANT_A, () => {
    for (
      const attributes of [
        { "http.request.method": "GET" },
        { "gen_ai.operation.name": "invoke_agent", "gen_ai.usage.input_tokens": 5 },
        { "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather" },
      ]
    ) {
      const span = t.tracer.startSpan("other");
      span.setAttributes(attributes);
      span.end();
    }
    const foreign = t.tracer.startSpan("chat gpt-4o");
    foreign.setAttributes({
      "gen_ai.operation.name": "chat",
      "gen_ai.request.model": "gpt-4o",
      "gen_ai.usage.input_tokens": 1000,
      "gen_ai.usage.output_tokens": 100,
    });
    foreign.end();
    const tool = t.tracer.startSpan("execute_tool 3dx-rest");
    tool.setAttributes(connectorCallToGenAiAttributes({
      connector_id: "3dx-rest",
      capability: "read.parts",
      pricing_version: "unavailable",
      cost_status: "unavailable",
    }));
    tool.end();
  });
  await t.processor.shutdown();
  assert.deepEqual(t.errors, []);
  const [llm] = emitter.rows("llm_calls");
  assert.equal(emitter.rows("llm_calls").length, 1);
  assert.deepEqual(
    llm.kind === "llm_call" && [llm.args.cost_eur, llm.args.cost_status, llm.args.pricing_version],
    [0.0028, "calculated", "overrides-static"],
  );
  const [tool] = emitter.rows("connector_calls");
  assert.equal(emitter.rows("connector_calls").length, 1);
  assert.equal(tool.event_type, "connector.call");
  assert.deepEqual(tool.kind === "connector_call" && tool.args.envelope, {});
});

Deno.test("KernelSpanProcessor() refuses a missing onError", () => {
  const emitter = new MemoryKernelEmitter({ tenantId: TENANT_A });
  assert.throws(() => new KernelSpanProcessor(() => emitter, {} as never), TypeError);
});
