/**
 * Migration runner: brings a database to a revision of `migrations/` with ley, one transaction
 * per revision, under a PostgreSQL advisory lock so that concurrent deploys wait for each other
 * instead of failing or applying a revision twice. On Citus each revision's transaction starts
 * with the settings distributed DDL needs. Also the CLI behind
 * `deno task migrate up|down|status`.
 *
 * @module
 */
import * as ley from "ley";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type postgres from "postgres";
import { CITUS_MIGRATION_SETTINGS, isCitus } from "./_postgres_citus.ts";
import { connect, type Sql } from "./db.ts";
import { MigrationError, ValidationError } from "./errors.ts";

/** One revision committed by {@link migrate}. */
export interface MigrationStep {
  /** `"up"` when applied, `"down"` when reverted. */
  direction: "up" | "down";
  /** Revision name, the file name without extension (`"0003_llm_calls"`). */
  revision: string;
}

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** Revision number to end at: `12` is `0012_...`, `0` an empty schema. @default the latest */
  to?: number;
  /** Called after each revision commits. @default no callback */
  onStep?: (step: MigrationStep) => void;
}

/** Where a database stands. */
export interface MigrationStatus {
  /** Applied revisions, oldest first. */
  applied: string[];
  /** Revisions not applied yet, in the order they would run. */
  pending: string[];
}

/**
 * Bring the database to revision `to`, applying or reverting one revision per transaction.
 * Holds `pg_advisory_lock` on one connection for the whole run; a second caller waits, then
 * finds nothing left to do. Needs a superuser (or a role that may create roles and set
 * BYPASSRLS).
 *
 * @param target A pool (one of its connections is reserved for the run) or a DSN.
 * @param options Target revision and progress callback.
 * @returns The revisions committed, in order.
 * @throws {ValidationError} When `to` is not a revision number (0 to the latest).
 * @throws {MigrationError} When a revision fails; it was rolled back, earlier ones stay.
 * @throws {Error} When the database cannot be reached, the applied revisions do not match the
 * files, or the package's `migrations/` directory is not on the local file system.
 *
 * @example Migrate the embedded database up, then back to zero
 * ```ts
 * import assert from "node:assert/strict";
 * import { startEmbeddedPostgres } from "./db.ts";
 * import { migrate } from "./migrate.ts";
 *
 * await using pg = await startEmbeddedPostgres();
 * const up = await migrate(pg.sql);
 * assert.equal(up[0].revision, "0001_tenants_runs");
 * const down = await migrate(pg.sql, { to: 0 });
 * assert.equal(down.length, up.length);
 * ```
 */
export async function migrate(
  target: Sql | string,
  options: MigrateOptions = {},
): Promise<MigrationStep[]> {
  return await withLock(target, async (conn) => {
    const status = await readStatus(conn);
    const latest = status.applied.length + status.pending.length;
    const to = options.to ?? latest;
    if (!Number.isInteger(to) || to < 0 || to > latest) {
      throw new ValidationError("MigrateOptions", [
        { path: "to", message: `expected a revision number from 0 to ${latest}` },
      ]);
    }
    const steps: MigrationStep[] = [];
    const onStep = (step: MigrationStep) => {
      steps.push(step);
      options.onStep?.(step);
    };
    const opts = leyOptions(conn, onStep);
    for (let at = status.applied.length; at < to; at++) await ley.up({ ...opts, single: true });
    for (let at = status.applied.length; at > to; at--) await ley.down(opts);
    return steps;
  });
}

/**
 * Which revisions are applied and which are pending (waits while a migration runs).
 *
 * @param target A pool or a DSN.
 * @returns Applied and pending revision names.
 * @throws {Error} When the database cannot be reached or `migrations/` is not on local disk.
 *
 * @example A fresh database has every revision pending
 * ```ts
 * import assert from "node:assert/strict";
 * import { startEmbeddedPostgres } from "./db.ts";
 * import { migrationStatus } from "./migrate.ts";
 *
 * await using pg = await startEmbeddedPostgres();
 * const status = await migrationStatus(pg.sql);
 * assert.deepEqual(status.applied, []);
 * assert.equal(status.pending[0], "0001_tenants_runs");
 * ```
 */
export async function migrationStatus(target: Sql | string): Promise<MigrationStatus> {
  return await withLock(target, readStatus);
}

const MIGRATIONS_URL = new URL("../migrations/", import.meta.url);
/** Extension of the migration files beside this module: `.ts` in the source, `.js` when built. */
const MIGRATION_EXTENSION = import.meta.url.match(/\.[cm]?[jt]s$/)?.[0] ?? ".ts";
const LOCK = "select pg_advisory_lock(hashtextextended('plm-shared migrate', 0))";
const UNLOCK = "select pg_advisory_unlock(hashtextextended('plm-shared migrate', 0))";

/** Run `fn` on one reserved connection that holds the migration lock. */
async function withLock<T>(
  target: Sql | string,
  fn: (conn: postgres.ReservedSql) => Promise<T>,
): Promise<T> {
  const pool = typeof target === "string" ? connect(target, { max: 1 }) : target;
  try {
    const conn = await pool.reserve();
    try {
      await conn.unsafe(LOCK);
      try {
        return await fn(conn);
      } finally {
        // A broken connection fails here, but its session (and the lock) ended with it.
        await conn.unsafe(UNLOCK).catch(() => {});
      }
    } finally {
      conn.release();
    }
  } finally {
    if (typeof target === "string") await pool.end({ timeout: 5 });
  }
}

async function readStatus(conn: postgres.ReservedSql): Promise<MigrationStatus> {
  let applied: string[] = [];
  const pending = await ley.status(leyOptions(conn, () => {}, (names) => applied = names));
  return { applied: applied.map(revisionOf), pending: pending.map(revisionOf) };
}

/** ley options with a driver that runs on `conn`, one transaction per revision. */
function leyOptions(
  conn: postgres.ReservedSql,
  onStep: (step: MigrationStep) => void,
  onApplied: (names: string[]) => void = () => {},
) {
  if (MIGRATIONS_URL.protocol !== "file:") {
    throw new Error(
      `Cannot read migrations from "${MIGRATIONS_URL.href}": run them from a local copy of the package`,
    );
  }
  const driver = {
    connect: () => conn,
    async setup(sql: postgres.ReservedSql) {
      await sql`create table if not exists migrations (
        id serial primary key, name varchar(255) not null, created_at timestamp not null)`;
      const rows = await sql<{ name: string }[]>`select name from migrations order by id`;
      // The Deno source runs `.ts` files, the Node build `.js`: compare revisions, not names.
      const applied = rows.map((row) => ({ name: revisionOf(row.name) + MIGRATION_EXTENSION }));
      onApplied(applied.map((row) => row.name));
      return applied;
    },
    async loop(sql: postgres.ReservedSql, files: { name: string; abs: string }[], method: string) {
      for (const file of files) {
        const revision = revisionOf(file.name);
        const migration = await import(pathToFileURL(file.abs).href);
        await sql`begin`;
        try {
          if (await isCitus(sql)) await sql.unsafe(CITUS_MIGRATION_SETTINGS).simple();
          await migration[method](sql);
          if (method === "up") {
            await sql`insert into migrations (name, created_at) values (${file.name}, now())`;
          } else {
            await sql`delete from migrations
              where regexp_replace(name, '\\.[cm]?[jt]s$', '') = ${revision}`;
          }
          await sql`commit`;
        } catch (error) {
          await sql`rollback`.catch(() => {});
          throw new MigrationError(revision, error);
        }
        onStep({ direction: method === "up" ? "up" : "down", revision });
      }
    },
    end: () => {},
  };
  // ley's Driver type has a generic `connect<Client>` no implementation can satisfy.
  return {
    cwd: fileURLToPath(new URL("..", MIGRATIONS_URL)),
    dir: "migrations",
    driver: driver as unknown as ley.Driver,
  };
}

function revisionOf(name: string): string {
  return name.replace(/\.[cm]?[jt]s$/, "");
}

/** `deno task migrate up|down|status [--to N] [--dsn DSN]`; exits 1 with a message on failure. */
async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { dsn: { type: "string" }, to: { type: "string" } },
  });
  const command = positionals[0] ?? "status";
  const dsn = values.dsn ?? Deno.env.get("PG_DSN");
  if (!dsn || positionals.length > 1 || !["up", "down", "status"].includes(command)) {
    throw new Error(
      "Usage: deno task migrate up|down|status [--to N] [--dsn postgres://...] (or set PG_DSN)",
    );
  }
  const status = await migrationStatus(dsn);
  const current = status.applied.length;
  if (command === "status") {
    for (const name of status.applied) console.log(`applied  ${name}`);
    for (const name of status.pending) console.log(`pending  ${name}`);
    return;
  }
  const to = values.to === undefined
    ? (command === "up" ? undefined : current - 1)
    : Number(values.to);
  if (to !== undefined && (command === "up" ? to < current : to > current)) {
    throw new Error(
      `The database is at revision ${current}: "${command} --to ${to}" would move the other way`,
    );
  }
  if (to === -1) return console.log("nothing to revert");
  const steps = await migrate(dsn, {
    to,
    onStep: (step) =>
      console.log(`${step.direction === "up" ? "applied " : "reverted"} ${step.revision}`),
  });
  if (steps.length === 0) console.log("nothing to do");
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    const statement = error instanceof MigrationError &&
      (error.cause as { query?: unknown })?.query;
    if (typeof statement === "string") console.error(`statement: ${statement.trim()}`);
    Deno.exit(1);
  }
}
