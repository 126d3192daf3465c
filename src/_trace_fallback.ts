/**
 * Internal: the fallback source of the current trace context, consulted when no
 * `withTraceContext` scope is current. Empty unless `installOtelTraceContext` (`./otel`) fills
 * it, so the contracts entry point stays free of OpenTelemetry.
 *
 * @module
 */
import type { TraceContext } from "./trace_context.ts";

/** Reads the current trace context from elsewhere (an active OpenTelemetry span). */
export type TraceContextProvider = () => TraceContext | undefined;

let provider: TraceContextProvider | undefined;

/**
 * The fallback's current trace context, if a provider is installed and has one.
 *
 * @returns A frozen context, or `undefined`.
 */
export function fallbackTraceContext(): TraceContext | undefined {
  return provider?.();
}

/**
 * Install `next` as the fallback provider (replacing any other).
 *
 * @param next The provider.
 * @returns A function that removes `next` again (and restores the provider it replaced), and
 *   does nothing when another provider was installed since.
 */
export function setTraceContextFallback(next: TraceContextProvider): () => void {
  const previous = provider;
  provider = next;
  return () => {
    if (provider === next) provider = previous;
  };
}
