/**
 * Tenant context: the tenant an operation runs for, carried in `AsyncLocalStorage` across
 * `await`, timers and promises. Scoped only: there is no way to set it outside a
 * {@link withTenant} callback.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { parseTenantId } from "./_contract_schema_fields.ts";
import { ContextMissingError } from "./errors.ts";

const storage = new AsyncLocalStorage<string>();

/**
 * Run `fn` for `tenantId`, across its `await`s, timers and promises. The id is checked first
 * (an RFC 9562 UUID, not the nil or max UUID, any case) and stored in lowercase. Nested runs
 * shadow the outer tenant until they return.
 *
 * @param tenantId The tenant's UUID.
 * @param fn The work to run.
 * @returns What `fn` returns.
 * @throws {ValidationError} When `tenantId` is not a valid tenant id; `fn` is not called.
 *
 * @example Run work for a tenant
 * ```ts
 * import assert from "node:assert/strict";
 * import { currentTenant, requireTenant, withTenant } from "./tenant_context.ts";
 *
 * await withTenant("0B9C2F4E-6A1D-4C3E-9F7A-2D5B8E1C4A60", async () => {
 *   await new Promise((resolve) => setTimeout(resolve, 1));
 *   assert.equal(requireTenant(), "0b9c2f4e-6a1d-4c3e-9f7a-2d5b8e1c4a60");
 * });
 * assert.equal(currentTenant(), undefined);
 * ```
 */
export function withTenant<T>(tenantId: string, fn: () => T): T {
  return storage.run(parseTenantId(tenantId), fn);
}

/**
 * The current tenant id, or `undefined` outside {@link withTenant}.
 *
 * @returns The lowercase tenant id, if any.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { currentTenant } from "./tenant_context.ts";
 *
 * assert.equal(currentTenant(), undefined);
 * ```
 */
export function currentTenant(): string | undefined {
  return storage.getStore();
}

/**
 * The current tenant id; throws outside {@link withTenant}. Call it when the work is started,
 * not inside driver callbacks or event listeners.
 *
 * @returns The lowercase tenant id.
 * @throws {ContextMissingError} With code `TENANT_CONTEXT_MISSING` when there is none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ContextMissingError } from "./errors.ts";
 * import { requireTenant } from "./tenant_context.ts";
 *
 * assert.throws(() => requireTenant(), ContextMissingError);
 * ```
 */
export function requireTenant(): string {
  const tenantId = storage.getStore();
  if (tenantId === undefined) throw new ContextMissingError("tenant");
  return tenantId;
}
