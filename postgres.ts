/**
 * plm-shared on PostgreSQL: the emitter, connection helpers and the migration runner (the
 * latter also on its own in `@tracepulse/plm-shared/migrate`).
 * Importing this entry point loads the postgres.js driver.
 *
 * @module
 */
export { EmitterUnavailable, IdempotencyConflict } from "./src/errors.ts";
export * from "./src/db.ts";
export * from "./migrate.ts";
export * from "./src/postgres_kernel_emitter.ts";
