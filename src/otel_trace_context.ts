/**
 * The OpenTelemetry trace context bridge: with it installed, `currentTraceContext()` (and
 * `requireTraceContext()`, `childSpan()`, `injectTraceContext()`) read the active OpenTelemetry
 * span when no `withTraceContext` scope is current. An explicit plm context always wins.
 *
 * @module
 */
import { trace } from "@opentelemetry/api";
import { setTraceContextFallback } from "./_trace_context_fallback.ts";
import { parseTracestate, SPAN_ID_PATTERN, TRACE_ID_PATTERN } from "./_trace_context_w3c.ts";
import type { TraceContext } from "./trace_context.ts";

/**
 * What the bridge reads from an OpenTelemetry span: the same shape as `SpanContext` of
 * `@opentelemetry/api` (so `span.spanContext()` fits).
 */
export interface OtelSpanContext {
  /** The trace id (32 hex digits). */
  readonly traceId: string;
  /** The span id (16 hex digits). */
  readonly spanId: string;
  /** W3C trace flags. */
  readonly traceFlags: number;
  /** The `tracestate`, if any. */
  readonly traceState?: {
    /**
     * The W3C `tracestate` header value.
     *
     * @returns The serialised members.
     */
    serialize(): string;
  };
}

/**
 * Make the active OpenTelemetry span the current trace context wherever no
 * `withTraceContext` scope is current. The span context is read on each call, from the
 * OpenTelemetry context manager the application registered (in Deno and Node:
 * `AsyncLocalStorageContextManager` of `@opentelemetry/context-async-hooks`, so it follows
 * `await`, timers and promises). Only valid span contexts are used (lowercase hex, not all
 * zero); `traceFlags` keeps the sampled bit, `traceState` is taken when it is valid W3C
 * `tracestate`, and `parentSpanId` is absent (the OpenTelemetry API does not expose it).
 *
 * Installing again replaces the bridge; disposing restores what was installed before.
 *
 * @returns A `Disposable`: `using bridge = installOtelTraceContext()`, or call
 *   `bridge[Symbol.dispose]()` to uninstall.
 *
 * @example Read the active span's context
 * ```ts
 * import assert from "node:assert/strict";
 * import { context, trace } from "@opentelemetry/api";
 * import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
 * import { currentTraceContext } from "../mod.ts";
 * import { installOtelTraceContext } from "./otel_trace_context.ts";
 *
 * context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
 * using _bridge = installOtelTraceContext();
 * const span = trace.wrapSpanContext({
 *   traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
 *   spanId: "00f067aa0ba902b7",
 *   traceFlags: 1,
 * });
 * context.with(trace.setSpan(context.active(), span), () => {
 *   assert.equal(currentTraceContext()?.spanId, "00f067aa0ba902b7");
 * });
 * assert.equal(currentTraceContext(), undefined);
 * context.disable();
 * ```
 */
export function installOtelTraceContext(): Disposable {
  const uninstall = setTraceContextFallback(activeSpanTraceContext);
  return { [Symbol.dispose]: uninstall };
}

/**
 * Convert an OpenTelemetry `SpanContext` to a plm {@link TraceContext}.
 *
 * @param spanContext The span context (`span.spanContext()`).
 * @returns A frozen context, or `undefined` when the ids are not valid W3C ids.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fromOtelSpanContext } from "./otel_trace_context.ts";
 *
 * const ctx = fromOtelSpanContext({
 *   traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
 *   spanId: "00f067aa0ba902b7",
 *   traceFlags: 3,
 * });
 * assert.equal(ctx?.traceFlags, 1);
 * assert.equal(fromOtelSpanContext({ traceId: "0".repeat(32), spanId: "1".repeat(16), traceFlags: 0 }), undefined);
 * ```
 */
export function fromOtelSpanContext(spanContext: OtelSpanContext): TraceContext | undefined {
  const { traceId, spanId, traceFlags, traceState } = spanContext;
  if (!TRACE_ID_PATTERN.test(traceId) || !SPAN_ID_PATTERN.test(spanId)) return undefined;
  const serialized = traceState?.serialize() ?? "";
  return Object.freeze({
    traceId,
    spanId,
    traceFlags: traceFlags & 0x01,
    traceState: Object.freeze((parseTracestate(serialized) ?? []).map((e) => Object.freeze(e))),
  });
}

/** The active OpenTelemetry span's context, if there is a valid one. */
function activeSpanTraceContext(): TraceContext | undefined {
  const span = trace.getActiveSpan();
  return span === undefined ? undefined : fromOtelSpanContext(span.spanContext());
}
