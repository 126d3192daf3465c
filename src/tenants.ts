/**
 * `registerTenant`: add a tenant to `tenants`, the one step before any emitter may write for
 * it. Needs a login role in `plm_tenant_admin` (migration 0014): the writer role cannot.
 *
 * @module
 */
import { parseTenantRegistration } from "./_lifecycle_schemas.ts";
import { isUnavailable } from "./_postgres_kernel_emitter_rows.ts";
import type { Sql } from "./db.ts";
import { EmitterUnavailable, TenantAdminRequired, TenantConflict } from "./errors.ts";
import type { TenantRegistration } from "./memory_tenant_registry.ts";

/** Options of {@link registerTenant}. */
export interface RegisterTenantOptions {
  /**
   * A role to switch to, transaction-locally, first. Only for a login that bypasses row level
   * security (a superuser, e.g. PGlite's one login): `"plm_tenant_admin"`.
   *
   * @default undefined (no switch: connect as a login role in `plm_tenant_admin`)
   */
  readonly role?: string;
}

/**
 * Register a tenant; idempotent.
 *
 * @param sql A postgres.js client whose login role is a member of `plm_tenant_admin`.
 * @param tenant The tenant's id (a UUID) and display name (1 to 256 characters).
 * @param options The role switch, if one is needed.
 * @returns `created: true` the first time; `false` when the same id and name are registered.
 * @throws {ValidationError} When the id is not a UUID or the name is empty or too long.
 * @throws {TenantConflict} When the id is registered under another name.
 * @throws {TenantAdminRequired} When the connection's role may not register tenants.
 * @throws {EmitterUnavailable} When the database cannot be reached; nothing was written.
 *
 * @example Register a tenant on the embedded PostgreSQL
 * ```ts
 * import assert from "node:assert/strict";
 * import { migrate, registerTenant, startEmbeddedPostgres } from "@tracepulse/plm-shared/postgres";
 *
 * await using pg = await startEmbeddedPostgres();
 * await migrate(pg.sql);
 * const tenant = { id: crypto.randomUUID(), name: "acme" };
 * // PGlite's one login is the superuser: switch to the admin role so the policies apply.
 * const options = { role: "plm_tenant_admin" };
 * assert.deepEqual(await registerTenant(pg.sql, tenant, options), { created: true });
 * assert.deepEqual(await registerTenant(pg.sql, tenant, options), { created: false });
 * await assert.rejects(registerTenant(pg.sql, { ...tenant, name: "other" }, options), {
 *   code: "TENANT_CONFLICT",
 * });
 * ```
 */
export async function registerTenant(
  sql: Sql,
  tenant: TenantRegistration,
  options: RegisterTenantOptions = {},
): Promise<{ created: boolean }> {
  const { id, name } = parseTenantRegistration(tenant);
  try {
    return await sql.begin(async (tx) => {
      if (options.role !== undefined) {
        await tx`select set_config('role', ${options.role}, true)`;
      }
      const [inserted] = await tx`
        insert into public.tenants (id, name) values (${id}, ${name})
        on conflict on constraint tenants_pkey do nothing returning 1`;
      if (inserted) return { created: true };
      const [known] = await tx`select name from public.tenants where id = ${id}`;
      if (known?.name !== name) throw new TenantConflict(id);
      return { created: false };
    });
  } catch (error) {
    if ((error as { code?: unknown }).code === "42501") {
      throw new TenantAdminRequired({ cause: error });
    }
    throw isUnavailable(error) ? new EmitterUnavailable(error) : error;
  }
}
