/**
 * `KernelSpanProcessor`: an OpenTelemetry span processor that records ended GenAI spans as
 * kernel LLM and connector calls through any `KernelEmitter`, exactly once per span and
 * content, for the tenant the span belongs to.
 *
 * @module
 */
import { diag } from "@opentelemetry/api";
import { parseTenantId } from "./_contract_schema_fields.ts";
import { OtelSpanRefused } from "./errors.ts";
import { computeContentHash } from "./idempotency.ts";
import type { EmitConnectorCallArgs, EmitLlmCallArgs, KernelEmitter } from "./kernel_api.ts";
import {
  genAiAttributesToConnectorCall,
  genAiAttributesToLlmCall,
  genAiCallKind,
  type OtelAttributes,
  PlmAttribute,
} from "./otel_gen_ai.ts";
import type { OtelSpanContext } from "./otel_trace_context.ts";
import type { PriceTable } from "./price_table.ts";
import { computeCost } from "./pricing.ts";
import { currentTenant } from "./tenant_context.ts";

/**
 * What the processor reads from an ended span: its ids and attributes. The SDK's
 * `ReadableSpan` (`@opentelemetry/sdk-trace-base` 1.x and 2.x) fits.
 */
export interface OtelEndedSpan {
  /** The span's trace id, span id and flags. */
  spanContext(): OtelSpanContext;
  /** The span's attributes at its end. */
  readonly attributes: OtelAttributes;
}

/** Options of {@link KernelSpanProcessor}. */
export interface KernelSpanProcessorOptions {
  /**
   * Called once for every GenAI span that was not recorded, with the reason:
   * `OtelSpanRefused` (no tenant, two tenants), `ValidationError` (attributes that do not map
   * to a valid call, a tenant the emitter does not write for), `IdempotencyConflict` (the same
   * span recorded before with other content), `EmitterUnavailable`, or whatever `emitterFor`
   * threw. A span processor cannot throw into the SDK, so this is the only place failures go;
   * an exception thrown here is logged through OpenTelemetry's `diag`.
   */
  readonly onError: (error: Error, span: OtelEndedSpan) => void;
  /**
   * Prices LLM calls whose span carries no `plm.cost_status` (spans of other
   * instrumentations) with `computeCost`.
   *
   * @default undefined (such calls are recorded with cost "unavailable")
   */
  readonly priceTable?: PriceTable;
}

/**
 * Records ended GenAI spans through a `KernelEmitter`, as an OpenTelemetry `SpanProcessor`
 * (`new BasicTracerProvider({ spanProcessors: [processor] })`).
 *
 * - Which spans: `chat`, `text_completion`, `generate_content` and `embeddings` spans are LLM
 *   calls (`recordLlmCall`, event type `"llm.call"`); `execute_tool` spans with a
 *   `plm.capability` are connector calls (`recordConnectorCall`, `"connector.call"`, empty
 *   envelope). Every other span is ignored.
 * - Tenant: the `withTenant` scope current when the span started, or the span's
 *   `plm.tenant_id` attribute; both present and different, or neither, refuses the span
 *   (`OtelSpanRefused`). The emitter comes from `emitterFor(tenantId)`.
 * - Exactly once: the idempotency key is the tenant, the span's trace and span id, the event
 *   type and the content hash of the mapped call, so a span ended or exported again is a
 *   replay, and the same span with other content is an `IdempotencyConflict`.
 * - Failures go to `onError`; `forceFlush()` and `shutdown()` wait for every pending write.
 *
 * @example Record a chat span for the current tenant
 * ```ts
 * import assert from "node:assert/strict";
 * import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
 * import { MemoryKernelEmitter, withTenant } from "../mod.ts";
 * import { llmCallToGenAiAttributes } from "./otel_gen_ai.ts";
 * import { KernelSpanProcessor } from "./otel_span_processor.ts";
 *
 * const emitter = new MemoryKernelEmitter({ tenantId: "0b9c2f4e-6a1d-4c3e-9f7a-2d5b8e1c4a60" });
 * const errors: Error[] = [];
 * const processor = new KernelSpanProcessor(() => emitter, { onError: (e) => errors.push(e) });
 * const tracer = new BasicTracerProvider({ spanProcessors: [processor] }).getTracer("app");
 *
 * withTenant(emitter.tenantId, () => {
 *   const span = tracer.startSpan("chat gpt-4o");
 *   span.setAttributes(llmCallToGenAiAttributes({
 *     model: "gpt-4o",
 *     prompt_tokens: 10,
 *     completion_tokens: 2,
 *     pricing_version: "unavailable",
 *     cost_status: "unavailable",
 *   }));
 *   span.end();
 * });
 * await processor.forceFlush();
 * assert.deepEqual(errors, []);
 * assert.equal(emitter.rows("llm_calls").length, 1);
 * ```
 */
export class KernelSpanProcessor {
  #emitterFor: (tenantId: string) => KernelEmitter;
  #options: KernelSpanProcessorOptions;
  #startTenants = new WeakMap<object, string>();
  #pending = new Set<Promise<void>>();

  /**
   * Create the processor.
   *
   * @param emitterFor The emitter that writes for a tenant (`() => emitter` for one tenant).
   * @param options Where failures go, and an optional price table.
   * @throws {TypeError} When `onError` is not a function.
   */
  constructor(
    emitterFor: (tenantId: string) => KernelEmitter,
    options: KernelSpanProcessorOptions,
  ) {
    if (typeof emitterFor !== "function" || typeof options?.onError !== "function") {
      throw new TypeError(
        "KernelSpanProcessor needs emitterFor(tenantId) and options.onError functions",
      );
    }
    this.#emitterFor = emitterFor;
    this.#options = options;
  }

  /**
   * Remember the tenant current when a span starts (called by the SDK).
   *
   * @param span The started span.
   */
  onStart(span: object): void {
    const tenantId = currentTenant();
    if (tenantId !== undefined) this.#startTenants.set(span, tenantId);
  }

  /**
   * Record an ended GenAI span (called by the SDK; may be called again for the same span:
   * the second record is a replay). Returns at once; the write runs in the background.
   *
   * @param span The ended span.
   */
  onEnd(span: OtelEndedSpan): void {
    const kind = genAiCallKind(span.attributes);
    if (kind === undefined) return;
    const write = this.#record(span, kind).catch((error) => this.#report(error, span));
    this.#pending.add(write);
    write.finally(() => this.#pending.delete(write));
  }

  /**
   * Wait until every span handed to {@link onEnd} so far is written or reported.
   *
   * @returns When nothing is pending.
   */
  async forceFlush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  /**
   * Wait for pending writes (the emitters are the caller's to close).
   *
   * @returns When nothing is pending.
   */
  shutdown(): Promise<void> {
    return this.forceFlush();
  }

  async #record(span: OtelEndedSpan, kind: "llm_call" | "connector_call"): Promise<void> {
    const { traceId, spanId } = span.spanContext();
    const tenantId = this.#tenantOf(span);
    const key = (event_type: string, content: unknown) => ({
      tenant_id: tenantId,
      trace_id: traceId,
      span_id: spanId,
      event_type,
      content_hash: computeContentHash(content),
    });
    if (kind === "llm_call") {
      const content = this.#llmCallContent(span.attributes);
      const args: EmitLlmCallArgs = {
        span_id: spanId,
        ...content,
        idempotency_key: key("llm.call", content),
      };
      await this.#emitterFor(tenantId).recordLlmCall(args);
    } else {
      const content = { ...genAiAttributesToConnectorCall(span.attributes), envelope: {} };
      const args: EmitConnectorCallArgs = {
        span_id: spanId,
        ...content,
        idempotency_key: key("connector.call", content),
      };
      await this.#emitterFor(tenantId).recordConnectorCall(args);
    }
  }

  /** The stored content of an LLM call: the kernel fields only, priced when asked to. */
  #llmCallContent(
    attributes: OtelAttributes,
  ): Omit<EmitLlmCallArgs, "span_id" | "idempotency_key"> {
    const call = genAiAttributesToLlmCall(attributes);
    const table = this.#options.priceTable;
    const cost = table !== undefined && attributes[PlmAttribute.CostStatus] === undefined
      ? computeCost(call, table)
      : call;
    const { model, prompt_tokens, completion_tokens } = call;
    const { pricing_version, cost_status, cost_eur } = cost;
    return {
      model,
      prompt_tokens,
      completion_tokens,
      pricing_version,
      cost_status,
      ...(cost_eur === undefined ? {} : { cost_eur }),
    };
  }

  /** The span's one tenant, from its start scope and its `plm.tenant_id` attribute. */
  #tenantOf(span: OtelEndedSpan): string {
    const fromScope = this.#startTenants.get(span);
    const attribute = span.attributes[PlmAttribute.TenantId];
    const fromAttribute = attribute === undefined ? undefined : parseTenantId(String(attribute));
    if (fromScope !== undefined && fromAttribute !== undefined && fromScope !== fromAttribute) {
      throw new OtelSpanRefused("tenant_mismatch", span.spanContext());
    }
    const tenantId = fromScope ?? fromAttribute;
    if (tenantId === undefined) throw new OtelSpanRefused("without_tenant", span.spanContext());
    return tenantId;
  }

  #report(error: unknown, span: OtelEndedSpan): void {
    try {
      this.#options.onError(error instanceof Error ? error : new Error(String(error)), span);
    } catch (thrown) {
      diag.error("KernelSpanProcessor onError threw", thrown);
    }
  }
}
