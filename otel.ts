/**
 * plm-shared and OpenTelemetry: the active span as the current trace context, LLM and
 * connector calls as GenAI span attributes (`gen_ai.*`, semantic conventions v1.41.0) and back,
 * and a span processor that records ended GenAI spans through any `KernelEmitter` exactly once.
 * Importing this entry point loads `@opentelemetry/api` (1.x); the contracts entry point never
 * does.
 *
 * @example The active span is the current trace context
 * ```ts
 * import assert from "node:assert/strict";
 * import { context, trace } from "@opentelemetry/api";
 * import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
 * import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
 * import { currentTraceContext } from "@tracepulse/plm-shared";
 * import { installOtelTraceContext } from "@tracepulse/plm-shared/otel";
 *
 * context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
 * using _bridge = installOtelTraceContext();
 * const tracer = new BasicTracerProvider().getTracer("app");
 * await tracer.startActiveSpan("work", async (span) => {
 *   await new Promise((resolve) => setTimeout(resolve, 1));
 *   assert.equal(currentTraceContext()?.spanId, span.spanContext().spanId);
 *   span.end();
 * });
 * context.disable();
 * ```
 *
 * @module
 */
export { OtelSpanRefused } from "./src/errors.ts";
export * from "./src/otel_trace_context.ts";
export * from "./src/otel_gen_ai.ts";
export * from "./src/otel_span_processor.ts";
