/**
 * Internal: trace context values — validation of contexts built by callers, and freezing.
 *
 * @module
 */
import { z } from "zod";
import { parseContract } from "./_validate.ts";
import {
  MAX_TRACESTATE_MEMBERS,
  SPAN_ID_PATTERN,
  TRACE_ID_PATTERN,
  TRACESTATE_KEY_PATTERN,
  TRACESTATE_VALUE_PATTERN,
} from "./_w3c.ts";
import type { TraceContext } from "./trace_context.ts";

const TraceContextSchema = z.strictObject({
  traceId: z.string().regex(TRACE_ID_PATTERN, "expected 32 lowercase hex digits, not all zero"),
  spanId: z.string().regex(SPAN_ID_PATTERN, "expected 16 lowercase hex digits, not all zero"),
  parentSpanId: z.string().regex(SPAN_ID_PATTERN, "expected 16 lowercase hex digits, not all zero")
    .optional(),
  traceFlags: z.int().min(0).max(255),
  traceState: z.array(z.tuple([
    z.string().regex(TRACESTATE_KEY_PATTERN, "expected a W3C tracestate key"),
    z.string().regex(TRACESTATE_VALUE_PATTERN, "expected a W3C tracestate value"),
  ])).max(MAX_TRACESTATE_MEMBERS).refine(
    (entries) => new Set(entries.map(([key]) => key)).size === entries.length,
    "expected unique keys",
  ),
});

const minted = new WeakSet<TraceContext>();

/**
 * Freeze a context built from valid parts and remember it as checked.
 *
 * @param ctx A context whose fields are known to be valid.
 * @returns A frozen copy (its `traceState` and entries frozen too).
 */
export function mint(ctx: TraceContext): TraceContext {
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
 * @param ctx A context from any source.
 * @returns The checked frozen context.
 * @throws {ValidationError} When `ctx` is not a valid trace context.
 */
export function checked(ctx: TraceContext): TraceContext {
  if (minted.has(ctx)) return ctx;
  const parsed = parseContract(TraceContextSchema, "TraceContext", ctx);
  if (parsed.parentSpanId === undefined) delete parsed.parentSpanId;
  return mint(parsed);
}
