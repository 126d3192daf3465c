/**
 * plm-shared on PostgreSQL: the emitter, connection helpers and the migration runner.
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
export * from "./src/db.ts";
export * from "./src/db_rows.ts";
export * from "./src/migrate.ts";
export * from "./src/postgres_kernel_emitter.ts";
