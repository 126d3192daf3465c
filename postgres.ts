/**
 * plm-shared on PostgreSQL: the emitter, connection helpers and the migration runner (the
 * latter also on its own in `@tracepulse/plm-shared/migrate`).
 * Importing this entry point loads the postgres.js driver.
 *
 * @module
 */
export {
  DatabaseUnreachable,
  EmitterUnavailable,
  IdempotencyConflict,
  MigrationError,
  MigrationLockTimeout,
  UntrustedRole,
} from "./src/errors.ts";
export type { EmitOutcome, KernelEvent } from "./src/kernel_api.ts";
export * from "./src/db.ts";
export * from "./src/db_rows.ts";
export * from "./migrate.ts";
export * from "./src/postgres_kernel_emitter.ts";
export * from "./src/tenants.ts";
