/**
 * Internal: the tenant id rule shared by `withTenant` and the middleware.
 *
 * @module
 */
import { z } from "zod";
import { parseContract } from "./_validate.ts";

const NIL_OR_MAX = /^(?:0{8}-0{4}-0{4}-0{4}-0{12}|f{8}-f{4}-f{4}-f{4}-f{12})$/;

const TenantIdSchema = z.strictObject({
  tenantId: z.uuid('expected a UUID such as "0b9c2f4e-6a1d-4c3e-9f7a-2d5b8e1c4a60"')
    .transform((id) => id.toLowerCase())
    .refine((id) => !NIL_OR_MAX.test(id), "the nil and max UUIDs are not tenant ids"),
});

/**
 * Check a tenant id: an RFC 9562 UUID other than the nil and max UUIDs, any case.
 *
 * @param tenantId The untrusted id.
 * @returns The id in lowercase.
 * @throws {ValidationError} Contract `"TenantId"`, path `"tenantId"`, when it is not one.
 */
export function parseTenantId(tenantId: string): string {
  return parseContract(TenantIdSchema, "TenantId", { tenantId }).tenantId;
}
