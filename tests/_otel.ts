/**
 * Shared by the OpenTelemetry tests: a real SDK tracer whose spans go to a
 * `KernelSpanProcessor` (failures collected in `errors`) and to an in-memory exporter (so a
 * test can hand an ended span to a processor again), and a GenAI chat span.
 *
 * @module
 */
import type { Tracer } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { computeContentHash, type IdempotencyKey } from "../src/idempotency.ts";
import type { KernelEmitter } from "../src/kernel_api.ts";
import { type GenAiLlmCall, llmCallToGenAiAttributes } from "../src/otel_gen_ai.ts";
import {
  KernelSpanProcessor,
  type KernelSpanProcessorOptions,
} from "../src/otel_span_processor.ts";

/** A tracer provider wired to a `KernelSpanProcessor`. */
export interface Tracing {
  readonly provider: BasicTracerProvider;
  readonly tracer: Tracer;
  readonly processor: KernelSpanProcessor;
  /** Every failure the processor reported, in order. */
  readonly errors: Error[];
  /** The spans ended so far. */
  finished(): ReadableSpan[];
}

/** A provider whose spans are recorded through `emitterFor`. */
export function tracing(
  emitterFor: (tenantId: string) => KernelEmitter,
  options: Omit<KernelSpanProcessorOptions, "onError"> = {},
): Tracing {
  const errors: Error[] = [];
  const exporter = new InMemorySpanExporter();
  const processor = new KernelSpanProcessor(emitterFor, {
    ...options,
    onError: (error) => errors.push(error),
  });
  const provider = new BasicTracerProvider({
    spanProcessors: [processor, new SimpleSpanProcessor(exporter)],
  });
  return {
    provider,
    tracer: provider.getTracer("plm-test"),
    processor,
    errors,
    finished: () => exporter.getFinishedSpans(),
  };
}

/** An LLM call with a calculated cost. */
export const CHAT_CALL: GenAiLlmCall = Object.freeze({
  model: "gpt-4o",
  prompt_tokens: 1200,
  completion_tokens: 300,
  cache_read_input_tokens: 1000,
  reasoning_tokens: 120,
  pricing_version: "litellm-live",
  cost_eur: 0.0041,
  cost_status: "calculated",
});

/** What `KernelSpanProcessor` stores for {@link CHAT_CALL} (the kernel fields only). */
export const CHAT_CONTENT = Object.freeze({
  model: "gpt-4o",
  prompt_tokens: 1200,
  completion_tokens: 300,
  pricing_version: "litellm-live",
  cost_status: "calculated",
  cost_eur: 0.0041,
});

/** The idempotency key `KernelSpanProcessor` derives for a chat span of {@link CHAT_CALL}. */
export function chatKey(tenantId: string, span: ReadableSpan): IdempotencyKey {
  const { traceId, spanId } = span.spanContext();
  return {
    tenant_id: tenantId,
    trace_id: traceId,
    span_id: spanId,
    event_type: "llm.call",
    content_hash: computeContentHash(CHAT_CONTENT),
  };
}

/** Start and end a chat span for `call` (after an await and a timer); return the ended span. */
export async function chatSpan(
  t: Tracing,
  call: GenAiLlmCall = CHAT_CALL,
  extra: Record<string, string> = {},
): Promise<ReadableSpan> {
  const span = t.tracer.startSpan(`chat ${call.model}`);
  await new Promise((resolve) => setTimeout(resolve, 1));
  span.setAttributes({ ...llmCallToGenAiAttributes(call, { providerName: "openai" }), ...extra });
  span.end();
  const { spanId } = span.spanContext();
  return t.finished().find((ended) => ended.spanContext().spanId === spanId)!;
}
