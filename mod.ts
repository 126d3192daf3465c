/**
 * plm-shared: the frozen contracts every TracePulse PLM product line imports to record what
 * happened, for which tenant, under which trace, at what cost.
 *
 * This entry point holds only pure contracts and loads no database or S3 driver. The
 * PostgreSQL emitter lives in `@tracepulse/plm-shared/postgres`, the S3 artifact backend in
 * `@tracepulse/plm-shared/s3`.
 *
 * @example Hash a payload and build its idempotency key
 * ```ts
 * import assert from "node:assert/strict";
 * import { computeContentHash } from "@tracepulse/plm-shared";
 *
 * const hash = computeContentHash({ b: 1, a: [true, null] });
 * assert.match(hash, /^[0-9a-f]{64}$/);
 * assert.equal(hash, computeContentHash({ a: [true, null], b: 1 }));
 * ```
 *
 * @module
 */
export * from "./src/errors.ts";
export * from "./src/vocabulary.ts";
export * from "./src/contract_schema.ts";
export * from "./src/kernel_api.ts";
export * from "./src/idempotency.ts";
export * from "./src/lifecycle.ts";
export * from "./src/run_card.ts";
export * from "./src/event_builders.ts";
export * from "./src/memory_kernel_emitter.ts";
export * from "./src/memory_tenant_registry.ts";
export * from "./src/capabilities.ts";
export * from "./src/knowledge_envelope.ts";
export * from "./src/trace_context.ts";
export * from "./src/tenant_context.ts";
export * from "./src/pricing.ts";
export * from "./src/price_table.ts";
export * from "./src/artifact_store.ts";
export * from "./src/local_filesystem_backend.ts";
export * from "./src/middleware.ts";
