/**
 * Trace context: the current trace and span of an operation, carried in `AsyncLocalStorage`
 * across `await`, timers and promises, and bridged to W3C Trace Context Level 1 headers
 * (`traceparent`, `tracestate`).
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { fallbackTraceContext } from "./_trace_context_fallback.ts";
import { z } from "zod";
import { spanId, traceId } from "./_contract_schema_fields.ts";
import { parseContract } from "./_contract_schema_parse.ts";
import {
  formatTracestate,
  MAX_TRACESTATE_MEMBERS,
  parseTraceparentFields,
  parseTracestate,
  randomHexId,
  TRACESTATE_KEY_PATTERN,
  TRACESTATE_VALUE_PATTERN,
} from "./_trace_context_w3c.ts";
import { ContextMissingError } from "./errors.ts";

/**
 * An in-process trace context (the shape of OpenTelemetry's `SpanContext`, not a wire
 * contract). Values handed out by this module are frozen; a child span is a new object.
 */
export interface TraceContext {
  /** 32 lowercase hex digits, not all zero. */
  readonly traceId: string;
  /** 16 lowercase hex digits, not all zero: the span of the current operation. */
  readonly spanId: string;
  /** The span this one was derived from (the caller's span for a server span). */
  readonly parentSpanId?: string;
  /** W3C trace flags (0 to 255); only the sampled bit (`0x01`) is kept and sent. */
  readonly traceFlags: number;
  /** `tracestate` members in order, at most 32, keys unique. */
  readonly traceState: readonly (readonly [key: string, value: string])[];
}

const storage = new AsyncLocalStorage<TraceContext>();

const TraceContextSchema = z.strictObject({
  traceId: traceId(),
  spanId: spanId(),
  parentSpanId: spanId().optional(),
  traceFlags: z.int().min(0).max(255),
  traceState: z.array(z.tuple([
    z.string().regex(TRACESTATE_KEY_PATTERN, "expected a W3C tracestate key"),
    z.string().regex(TRACESTATE_VALUE_PATTERN, "expected a W3C tracestate value"),
  ])).max(MAX_TRACESTATE_MEMBERS).refine(
    (entries) => new Set(entries.map(([key]) => key)).size === entries.length,
    "expected unique keys",
  ),
});

/** The contexts {@link mint} made: valid and frozen, so they need no second check. */
const minted = new WeakSet<TraceContext>();

/**
 * Run `fn` with `ctx` as the current trace context, across its `await`s, timers and promises.
 * Nested runs shadow the outer context until they return.
 *
 * @param ctx The context (validated, then used as a frozen copy unless this module made it).
 * @param fn The work to run.
 * @returns What `fn` returns.
 * @throws {ValidationError} When `ctx` is not a valid trace context; `fn` is not called.
 *
 * @example Carry a context across an await
 * ```ts
 * import assert from "node:assert/strict";
 * import { currentTraceContext, newTraceContext, withTraceContext } from "./trace_context.ts";
 *
 * const ctx = newTraceContext();
 * await withTraceContext(ctx, async () => {
 *   await Promise.resolve();
 *   assert.equal(currentTraceContext()?.traceId, ctx.traceId);
 * });
 * assert.equal(currentTraceContext(), undefined);
 * ```
 */
export function withTraceContext<T>(ctx: TraceContext, fn: () => T): T {
  return storage.run(checked(ctx), fn);
}

/**
 * The current trace context, or `undefined` outside {@link withTraceContext}. With the
 * OpenTelemetry bridge installed (`installOtelTraceContext` of `@tracepulse/plm-shared/otel`),
 * the active OpenTelemetry span's context is current when no {@link withTraceContext} scope is.
 *
 * @returns The frozen current context, if any.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { currentTraceContext } from "./trace_context.ts";
 *
 * assert.equal(currentTraceContext(), undefined);
 * ```
 */
export function currentTraceContext(): TraceContext | undefined {
  const ctx = storage.getStore();
  if (ctx !== undefined) return ctx;
  const fallback = fallbackTraceContext();
  return fallback === undefined ? undefined : checked(fallback as TraceContext);
}

/**
 * The current trace context; throws outside {@link withTraceContext}.
 *
 * @returns The frozen current context.
 * @throws {ContextMissingError} With code `TRACE_CONTEXT_MISSING` when there is none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ContextMissingError } from "./errors.ts";
 * import { requireTraceContext } from "./trace_context.ts";
 *
 * assert.throws(() => requireTraceContext(), ContextMissingError);
 * ```
 */
export function requireTraceContext(): TraceContext {
  const ctx = currentTraceContext();
  if (ctx === undefined) throw new ContextMissingError("trace");
  return ctx;
}

/**
 * A new root trace context: random trace and span ids, sampled (`traceFlags` 1), no parent,
 * empty `traceState`.
 *
 * @returns A frozen context.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newTraceContext } from "./trace_context.ts";
 *
 * const ctx = newTraceContext();
 * assert.match(ctx.traceId, /^[0-9a-f]{32}$/);
 * assert.equal(ctx.parentSpanId, undefined);
 * ```
 */
export function newTraceContext(): TraceContext {
  return mint({ traceId: randomHexId(16), spanId: randomHexId(8), traceFlags: 1, traceState: [] });
}

/**
 * Derive a child span: same trace id, flags and `traceState`, a new random span id, and
 * `parentSpanId` set to the parent's span id. Without a parent and outside any trace context it
 * starts a new root trace ({@link newTraceContext}), like a tracer with no active span.
 *
 * @param parent The parent context; the current one when omitted.
 * @returns A new frozen context.
 * @throws {ValidationError} When `parent` is given and is not a valid trace context.
 *
 * @example Run a sub-operation in its own span
 * ```ts
 * import assert from "node:assert/strict";
 * import { childSpan, newTraceContext, withTraceContext } from "./trace_context.ts";
 *
 * const root = newTraceContext();
 * withTraceContext(root, () => {
 *   const child = childSpan();
 *   assert.equal(child.traceId, root.traceId);
 *   assert.equal(child.parentSpanId, root.spanId);
 *   assert.notEqual(child.spanId, root.spanId);
 * });
 * ```
 */
export function childSpan(parent?: TraceContext): TraceContext {
  const from = parent === undefined ? currentTraceContext() : checked(parent);
  if (from === undefined) return newTraceContext();
  return mint({
    traceId: from.traceId,
    spanId: randomHexId(8),
    parentSpanId: from.spanId,
    traceFlags: from.traceFlags,
    traceState: from.traceState,
  });
}

/**
 * Parse a `traceparent` header value exactly as W3C Trace Context Level 1 says. Never throws.
 * The result's `spanId` is the remote parent id from the header; `traceState` is empty.
 *
 * @param value The header value.
 * @returns The context, or `undefined` when the value is invalid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTraceparent } from "./trace_context.ts";
 *
 * const ctx = parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
 * assert.equal(ctx?.spanId, "00f067aa0ba902b7");
 * assert.equal(parseTraceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"), undefined);
 * ```
 */
export function parseTraceparent(value: string): TraceContext | undefined {
  const fields = parseTraceparentFields(value);
  if (fields === undefined) return undefined;
  return mint({
    traceId: fields.traceId,
    spanId: fields.parentId,
    traceFlags: fields.traceFlags,
    traceState: [],
  });
}

/**
 * Format a context as a version-00 `traceparent` (`00-<trace-id>-<span-id>-<flags>`); the
 * flags are the sampled bit as two lowercase hex digits.
 *
 * @param ctx The context; its `spanId` becomes the header's parent id.
 * @returns The header value.
 * @throws {ValidationError} When `ctx` is not a valid trace context.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTraceparent } from "./trace_context.ts";
 *
 * const value = formatTraceparent({
 *   traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
 *   spanId: "00f067aa0ba902b7",
 *   traceFlags: 1,
 *   traceState: [],
 * });
 * assert.equal(value, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
 * ```
 */
export function formatTraceparent(ctx: TraceContext): string {
  const { traceId, spanId, traceFlags } = checked(ctx);
  return `00-${traceId}-${spanId}-0${traceFlags & 0x01}`;
}

/**
 * The server span of an incoming request. A valid `traceparent` gives a child of the caller's
 * span in the caller's trace, with the `tracestate` members when they are valid (an invalid
 * `tracestate`, or more than 32 members, is dropped whole). A missing or invalid `traceparent`
 * starts a new trace and ignores `tracestate`. Never throws.
 *
 * @param headers The request headers (several `tracestate` lines are combined in order).
 * @returns A new frozen context.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { extractTraceContext } from "./trace_context.ts";
 *
 * const ctx = extractTraceContext(new Headers({
 *   traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
 *   tracestate: "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7",
 * }));
 * assert.equal(ctx.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
 * assert.equal(ctx.parentSpanId, "00f067aa0ba902b7");
 * assert.deepEqual(ctx.traceState, [["congo", "t61rcWkgMzE"], ["rojo", "00f067aa0ba902b7"]]);
 * ```
 */
export function extractTraceContext(headers: Headers): TraceContext {
  const traceparent = headers.get("traceparent");
  const fields = traceparent === null ? undefined : parseTraceparentFields(traceparent);
  if (fields === undefined) return newTraceContext();
  const tracestate = headers.get("tracestate");
  return mint({
    traceId: fields.traceId,
    spanId: randomHexId(8),
    parentSpanId: fields.parentId,
    traceFlags: fields.traceFlags,
    traceState: (tracestate === null ? undefined : parseTracestate(tracestate)) ?? [],
  });
}

/**
 * Write `traceparent` (and `tracestate`, or remove it when the context has none) into outgoing
 * headers. The context's own span becomes the callee's parent; derive a client span with
 * {@link childSpan} first if you want one per call.
 *
 * @param headers The outgoing headers; changed in place.
 * @param ctx The context to send; the current one when omitted.
 * @returns The same `headers`, for chaining.
 * @throws {ContextMissingError} When `ctx` is omitted and there is no current context.
 * @throws {ValidationError} When `ctx` is not a valid trace context.
 *
 * @example Propagate the current trace to a downstream call
 * ```ts
 * import assert from "node:assert/strict";
 * import { injectTraceContext, newTraceContext, withTraceContext } from "./trace_context.ts";
 *
 * const ctx = newTraceContext();
 * const headers = withTraceContext(ctx, () => injectTraceContext(new Headers()));
 * assert.equal(headers.get("traceparent"), `00-${ctx.traceId}-${ctx.spanId}-01`);
 * ```
 */
export function injectTraceContext(headers: Headers, ctx?: TraceContext): Headers {
  const send = ctx === undefined ? requireTraceContext() : checked(ctx);
  headers.set("traceparent", formatTraceparent(send));
  if (send.traceState.length > 0) headers.set("tracestate", formatTracestate(send.traceState));
  else headers.delete("tracestate");
  return headers;
}

/** Freeze a context built from valid parts (its `traceState` and entries too) and remember it. */
function mint(ctx: TraceContext): TraceContext {
  const result = Object.freeze({
    ...ctx,
    traceState: Object.freeze(ctx.traceState.map((entry) => Object.freeze([...entry] as const))),
  });
  minted.add(result);
  return result;
}

/**
 * A checked frozen context: `ctx` itself when {@link mint} made it, else a validated copy.
 *
 * @throws {ValidationError} When `ctx` is not a valid trace context.
 */
function checked(ctx: TraceContext): TraceContext {
  if (minted.has(ctx)) return ctx;
  const parsed = parseContract(TraceContextSchema, "TraceContext", ctx);
  if (parsed.parentSpanId === undefined) delete parsed.parentSpanId;
  return mint(parsed);
}
