/**
 * Internal: the fallback source of the current trace context, consulted when no
 * `withTraceContext` scope is current. Empty unless `installOtelTraceContext` (`./otel`) fills
 * it, so the contracts entry point stays free of OpenTelemetry.
 *
 * @module
 */
/**
 * Reads the current trace context from elsewhere (an active OpenTelemetry span). Typed loosely
 * so this file imports nothing back from `trace_context.ts` (no import cycle); that module
 * validates what a provider returns.
 */
export type TraceContextProvider = () => unknown;

let provider: TraceContextProvider | undefined;

/**
 * The fallback's current trace context, if a provider is installed and has one.
 *
 * @returns What the provider returned (unchecked), or `undefined`.
 */
export function fallbackTraceContext(): unknown {
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
