/**
 * `MemoryTenantRegistry`: the registered tenants of memory emitters, the in-memory counterpart
 * of `registerTenant` on PostgreSQL.
 *
 * @module
 */
import { parseTenantRegistration } from "./_lifecycle_schemas.ts";
import { TenantConflict } from "./errors.ts";

/** A tenant to register. */
export interface TenantRegistration {
  /** The tenant id (a UUID; upper case is normalised). */
  readonly id: string;
  /** Its display name, 1 to 256 characters. */
  readonly name: string;
}

/**
 * The tenants memory emitters may write for. Share one registry between the emitters of a
 * test (`new MemoryKernelEmitter({ tenantId, tenants })`): an emitter whose tenant is not
 * registered refuses every write with `UnknownTenant`, as on PostgreSQL. An emitter created
 * without a registry has one of its own that holds its tenant.
 *
 * @example Register once; the same registration again changes nothing
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryKernelEmitter, MemoryTenantRegistry } from "@tracepulse/plm-shared";
 *
 * const tenants = new MemoryTenantRegistry();
 * const id = "0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e";
 * const emitter = new MemoryKernelEmitter({ tenantId: id, tenants });
 * const start = { trace_id: "4bf92f3577b34da6a3ce929d0e0e4736", product_line: "workbench", actor_kind: "human", actor_id: "u-42" } as const;
 * await assert.rejects(emitter.startRun(start), { code: "UNKNOWN_TENANT" });
 * assert.deepEqual(tenants.register({ id, name: "acme" }), { created: true });
 * assert.deepEqual(tenants.register({ id, name: "acme" }), { created: false });
 * assert.throws(() => tenants.register({ id, name: "other" }), { code: "TENANT_CONFLICT" });
 * assert.equal((await emitter.startRun(start)).created, true);
 * ```
 */
export class MemoryTenantRegistry {
  #names = new Map<string, string>();

  /**
   * Register a tenant; idempotent.
   *
   * @param tenant The id and name.
   * @returns `created: true` the first time, `false` when the same id and name were registered.
   * @throws {ValidationError} When the id is not a UUID or the name is empty or too long.
   * @throws {TenantConflict} When the id is registered under another name.
   */
  register(tenant: TenantRegistration): { created: boolean } {
    const { id, name } = parseTenantRegistration(tenant);
    const known = this.#names.get(id);
    if (known === undefined) {
      this.#names.set(id, name);
      return { created: true };
    }
    if (known !== name) throw new TenantConflict(id);
    return { created: false };
  }

  /**
   * Whether a tenant is registered.
   *
   * @param tenantId The tenant id (lowercase).
   * @returns `true` when it is.
   */
  has(tenantId: string): boolean {
    return this.#names.has(tenantId);
  }
}
