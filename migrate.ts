/**
 * plm-shared's migration runner on its own: `migrate()` and `migrationStatus()` (also exported
 * by `@tracepulse/plm-shared/postgres`), and the CLI. The revisions are known by static import,
 * so this runs from a checkout, a remote import and the npm package alike:
 *
 * ```sh
 * deno run -A jsr:@tracepulse/plm-shared/migrate up       # or: status, down, --help
 * deno task migrate up                                    # the same, in a checkout
 * ```
 *
 * Importing this entry point loads the postgres.js driver.
 *
 * @example Migrate the embedded database and read where it stands
 * ```ts
 * import assert from "node:assert/strict";
 * import { startEmbeddedPostgres } from "@tracepulse/plm-shared/postgres";
 * import { migrate, migrationStatus } from "@tracepulse/plm-shared/migrate";
 *
 * await using pg = await startEmbeddedPostgres();
 * await migrate(pg.sql);
 * assert.deepEqual((await migrationStatus(pg.sql)).pending, []);
 * ```
 *
 * @module
 */
import process from "node:process";
import { runCli } from "./src/migrate.ts";

export {
  DatabaseUnreachable,
  MigrationError,
  MigrationLockTimeout,
  UntrustedRole,
} from "./src/errors.ts";
export {
  migrate,
  type MigrateOptions,
  type MigrationLockOptions,
  type MigrationStatus,
  migrationStatus,
  type MigrationStep,
} from "./src/migrate.ts";

if (import.meta.main) process.exit(await runCli(process.argv.slice(2)));
