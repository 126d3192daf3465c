/**
 * Migration runner: brings a database to a revision of `migrations/`, one transaction per
 * revision, under a PostgreSQL advisory lock so that concurrent deploys wait for each other (up
 * to a timeout) instead of failing or applying a revision twice. Every `up` run first verifies
 * the package's roles. The revisions are known by
 * static import (`migrations/mod.ts`), so the runner works from a remote import too. Applied
 * revisions are recorded in ley's bookkeeping table `migrations`, as they were when ley ran
 * them. On Citus each revision's transaction starts with the settings distributed DDL needs.
 * Also the CLI behind `migrate.ts` (`deno task migrate up|down|status`).
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import type postgres from "postgres";
import * as revisions from "../migrations/mod.ts";
import { verifyRoles } from "./_migrate_roles.ts";
import { CITUS_MIGRATION_SETTINGS, isCitus } from "./_postgres_citus.ts";
import { connect, type Sql } from "./db.ts";
import {
  DatabaseUnreachable,
  MigrationError,
  MigrationLockTimeout,
  ValidationError,
} from "./errors.ts";

/** One revision committed by {@link migrate}. */
export interface MigrationStep {
  /** `"up"` when applied, `"down"` when reverted. */
  direction: "up" | "down";
  /** Revision name, the file name without extension (`"0003_llm_calls"`). */
  revision: string;
}

/** How {@link migrate} and {@link migrationStatus} wait for another migration's lock. */
export interface MigrationLockOptions {
  /**
   * Seconds to wait for another migration of the same database before giving up with
   * `MigrationLockTimeout`. @default 300
   */
  lockTimeout?: number;
  /** Called once when another migration holds the lock and the wait begins. @default none */
  onWait?: () => void;
}

/** Options of {@link migrate}. */
export interface MigrateOptions extends MigrationLockOptions {
  /** Revision number to end at: `13` is `0013_...`, `0` an empty schema. @default the latest */
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
 * Holds `pg_advisory_lock` on one connection for the whole run; a second caller calls
 * `onWait`, waits up to `lockTimeout` seconds, then finds nothing left to do. An `up` run (even
 * with nothing pending) first verifies the package's roles, which are cluster-wide: one that
 * exists with LOGIN, SUPERUSER, CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS (the migrator
 * excepted) or membership in another role is refused. Needs a superuser (or a role that may
 * create roles and set BYPASSRLS).
 *
 * @param target A pool (one of its connections is reserved for the run) or a DSN.
 * @param options Target revision, lock wait and progress callback.
 * @returns The revisions committed, in order.
 * @throws {ValidationError} When `to` is not a revision number (0 to the latest) or
 * `lockTimeout` is not a positive number of seconds.
 * @throws {UntrustedRole} When a package role has more power than the package gives it;
 * nothing was applied.
 * @throws {MigrationLockTimeout} When another migration held the lock past `lockTimeout`.
 * @throws {DatabaseUnreachable} When no PostgreSQL server answered within the pool's connect
 * timeout (a silent host, a server speaking another protocol).
 * @throws {MigrationError} When a revision fails; it was rolled back, earlier ones stay.
 * @throws {Error} When the applied revisions do not match the package's (another revision at
 * the same place, or one to revert that it does not know).
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
  return await withLock(target, options, async (conn) => {
    const status = await readStatus(conn);
    const latest = status.applied.length + status.pending.length;
    const to = options.to ?? latest;
    if (!Number.isInteger(to) || to < 0 || to > latest) {
      throw new ValidationError("MigrateOptions", [
        { path: "to", message: `expected a revision number from 0 to ${latest}` },
      ]);
    }
    if (to >= status.applied.length) await verifyRoles(conn);
    const steps: MigrationStep[] = [];
    const onStep = (step: MigrationStep) => {
      steps.push(step);
      options.onStep?.(step);
    };
    for (let at = status.applied.length; at < to; at++) {
      onStep(await runRevision(conn, REVISIONS[at], "up"));
    }
    for (let at = status.applied.length; at > to; at--) {
      const revision = REVISIONS[at - 1];
      if (revision?.name !== status.applied[at - 1]) {
        throw new Error(
          `Cannot revert "${status.applied[at - 1]}": this version of the package does not know it`,
        );
      }
      onStep(await runRevision(conn, revision, "down"));
    }
    return steps;
  });
}

/**
 * Which revisions are applied and which are pending (waits while a migration runs).
 *
 * @param target A pool or a DSN.
 * @param options How to wait for a running migration.
 * @returns Applied and pending revision names.
 * @throws {ValidationError} When `lockTimeout` is not a positive number of seconds.
 * @throws {MigrationLockTimeout} When another migration held the lock past `lockTimeout`.
 * @throws {DatabaseUnreachable} When no PostgreSQL server answered within the connect timeout.
 * @throws {Error} When the applied revisions do not match the package's.
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
export async function migrationStatus(
  target: Sql | string,
  options: MigrationLockOptions = {},
): Promise<MigrationStatus> {
  return await withLock(target, options, readStatus);
}

/** One revision: its name (the file name without extension) and its two functions. */
interface Revision {
  name: string;
  up(sql: postgres.Sql): Promise<void>;
  down(sql: postgres.Sql): Promise<void>;
}

/** Every revision, oldest first (names sort in revision order: they start with 4 digits). */
const REVISIONS: readonly Revision[] = Object.entries(revisions)
  .map(([name, module]): Revision => ({ name, ...module }))
  .sort((a, b) => a.name < b.name ? -1 : 1);
/**
 * Extension stored with each name in ley's table: `.ts` from the source (a checkout or a remote
 * import), `.js` from the npm package. Names are compared without it.
 */
const MIGRATION_EXTENSION = import.meta.url.match(/\.[cm]?[jt]s$/)?.[0] ?? ".ts";
const LOCK = "select pg_advisory_lock(hashtextextended('plm-shared migrate', 0))";
const TRY_LOCK = "select pg_try_advisory_lock(hashtextextended('plm-shared migrate', 0)) as locked";
const DEFAULT_LOCK_TIMEOUT = 300;
const UNLOCK = "select pg_advisory_unlock(hashtextextended('plm-shared migrate', 0))";

/** Run `fn` on one reserved connection that holds the migration lock. */
async function withLock<T>(
  target: Sql | string,
  options: MigrationLockOptions,
  fn: (conn: postgres.ReservedSql) => Promise<T>,
): Promise<T> {
  const lockTimeout = options.lockTimeout ?? DEFAULT_LOCK_TIMEOUT;
  if (typeof lockTimeout !== "number" || !(lockTimeout > 0) || !Number.isFinite(lockTimeout)) {
    throw new ValidationError("MigrateOptions", [
      { path: "lockTimeout", message: "expected a positive number of seconds" },
    ]);
  }
  const pool = typeof target === "string" ? connect(target, { max: 1 }) : target;
  let reachable = false;
  try {
    const conn = await reserveWithin(pool);
    reachable = true;
    try {
      await lock(conn, lockTimeout, options.onWait);
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
    // A pool still retrying a server that is not PostgreSQL is dropped at once.
    if (typeof target === "string") await pool.end({ timeout: reachable ? 5 : 0 });
  }
}

/**
 * Reserve a connection, giving up after the pool's connect timeout: postgres.js retries a
 * server that answers in another protocol (or closes at once) forever.
 */
async function reserveWithin(pool: Sql): Promise<postgres.ReservedSql> {
  const seconds = Number(pool.options.connect_timeout ?? 30);
  const address = `${pool.options.host?.[0] ?? "localhost"}:${pool.options.port?.[0] ?? 5432}`;
  const reserving = pool.reserve();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnreachable(address, seconds)), seconds * 1000);
  });
  try {
    return await Promise.race([reserving, timeout]);
  } catch (error) {
    // Hand back a connection that arrives after all.
    reserving.then((conn) => conn.release(), () => {});
    if ((error as { code?: unknown })?.code === "CONNECT_TIMEOUT") {
      throw new DatabaseUnreachable(address, seconds, error);
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Take the migration lock; when another session holds it, say so and wait `seconds` at most. */
async function lock(
  conn: postgres.ReservedSql,
  seconds: number,
  onWait: (() => void) | undefined,
): Promise<void> {
  const [{ locked }] = await conn.unsafe(TRY_LOCK);
  if (locked) return;
  onWait?.();
  await conn.unsafe(`set lock_timeout = ${Math.ceil(seconds * 1000)}`);
  try {
    await conn.unsafe(LOCK);
  } catch (error) {
    if ((error as { code?: unknown })?.code === "55P03") {
      throw new MigrationLockTimeout(seconds, error);
    }
    throw error;
  } finally {
    await conn.unsafe("reset lock_timeout");
  }
}

/**
 * Read ley's bookkeeping table (created as ley creates it). The applied revisions must be the
 * package's first ones, in order; a database ahead of the package has nothing pending.
 */
async function readStatus(conn: postgres.ReservedSql): Promise<MigrationStatus> {
  await conn`create table if not exists migrations (
    id serial primary key, name varchar(255) not null, created_at timestamp not null)`;
  const rows = await conn<{ name: string }[]>`select name from migrations order by id asc`;
  const applied = rows.map((row) => revisionOf(row.name));
  const known = REVISIONS.map((revision) => revision.name);
  const clash = known.findIndex((name, at) => at < applied.length && applied[at] !== name);
  if (clash !== -1) {
    throw new Error(`Cannot run "${known[clash]}" after "${applied[clash]}" has been applied`);
  }
  return { applied, pending: known.slice(applied.length) };
}

/** Apply or revert one revision in its own transaction, with its row in ley's table. */
async function runRevision(
  conn: postgres.ReservedSql,
  revision: Revision,
  direction: "up" | "down",
): Promise<MigrationStep> {
  await conn`begin`;
  try {
    if (await isCitus(conn)) await conn.unsafe(CITUS_MIGRATION_SETTINGS).simple();
    await revision[direction](conn);
    if (direction === "up") {
      const name = revision.name + MIGRATION_EXTENSION;
      await conn`insert into migrations (name, created_at) values (${name}, now())`;
    } else {
      await conn`delete from migrations
        where regexp_replace(name, '\\.[cm]?[jt]s$', '') = ${revision.name}`;
    }
    await conn`commit`;
  } catch (error) {
    await conn`rollback`.catch(() => {});
    throw new MigrationError(revision.name, error);
  }
  return { direction, revision: revision.name };
}

function revisionOf(name: string): string {
  return name.replace(/\.[cm]?[jt]s$/, "");
}

const USAGE =
  `Usage: migrate [status|up|down] [--to N] [--lock-timeout SECONDS] [--dsn postgres://...]

  status      list the applied and the pending revisions (the default)
  up          apply the pending revisions, or up to revision N with --to N
  down        revert the latest revision, or down to revision N with --to N (0: all)
  --lock-timeout SECONDS
              how long to wait for another migration of the database (default 300)
  --dsn DSN   superuser DSN of the database (default: the PG_DSN environment variable)
  -h, --help  print this help

In a checkout: deno task migrate up. From JSR: deno run -A jsr:@tracepulse/plm-shared/migrate up.
Exit status: 0 done, 1 failed (a failed revision was rolled back), 2 usage error.`;

/**
 * The CLI behind `migrate.ts`: parses `args`, prints one line per revision (or the usage).
 *
 * @param args The command line after the script (`["up", "--to", "3"]`).
 * @returns The exit status: 0 done, 1 failed (the message is on stderr), 2 usage error.
 */
export async function runCli(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        dsn: { type: "string" },
        to: { type: "string" },
        "lock-timeout": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const command = positionals[0] ?? "status";
  if (positionals.length > 1 || !["up", "down", "status"].includes(command)) {
    return usageError(`Unknown command "${positionals.join(" ")}"`);
  }
  const dsn = values.dsn ?? process.env.PG_DSN;
  if (!dsn) return usageError("No database: set PG_DSN or pass --dsn");
  try {
    await run(command, dsn, values.to, values["lock-timeout"]);
    return 0;
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    const statement = error instanceof MigrationError &&
      (error.cause as { query?: unknown })?.query;
    if (typeof statement === "string") console.error(`statement: ${statement.trim()}`);
    return 1;
  }
}

function usageError(message: string): number {
  console.error(`error: ${message}\n\n${USAGE}`);
  return 2;
}

async function run(
  command: string,
  dsn: string,
  toArg: string | undefined,
  lockTimeoutArg: string | undefined,
): Promise<void> {
  const lockTimeout = lockTimeoutArg === undefined ? undefined : Number(lockTimeoutArg);
  let waiting = false;
  const lockOptions: MigrationLockOptions = {
    lockTimeout,
    onWait() {
      if (waiting) return;
      waiting = true;
      console.error(
        `waiting for another migration to finish (up to ${
          lockTimeout ?? DEFAULT_LOCK_TIMEOUT
        } s, --lock-timeout)`,
      );
    },
  };
  const status = await migrationStatus(dsn, lockOptions);
  const current = status.applied.length;
  if (command === "status") {
    for (const name of status.applied) console.log(`applied  ${name}`);
    for (const name of status.pending) console.log(`pending  ${name}`);
    return;
  }
  const to = toArg === undefined ? (command === "up" ? undefined : current - 1) : Number(toArg);
  if (to !== undefined && (command === "up" ? to < current : to > current)) {
    throw new Error(
      `The database is at revision ${current}: "${command} --to ${to}" would move the other way`,
    );
  }
  if (to === -1) return console.log("nothing to revert");
  const steps = await migrate(dsn, {
    ...lockOptions,
    to,
    onStep: (step) =>
      console.log(`${step.direction === "up" ? "applied " : "reverted"} ${step.revision}`),
  });
  if (steps.length === 0) console.log("nothing to do");
}
