/**
 * Shared PostgreSQL test harness: a fresh database per call, on the server named by `PG_DSN`,
 * or on an embedded PGlite when `PG_DSN` is unset.
 *
 * ```ts ignore
 * import { isEmbedded, openTestDatabase } from "./_pg.ts";
 *
 * Deno.test("something() behaviour", async () => {
 *   await using db = await openTestDatabase(); // migrated to the latest revision
 *   await db.sql`insert into tenants (id, name) values (${id}, 'a')`; // superuser, no RLS
 *   await tenantScoped(db.writer, id, (tx) => tx`select * from runs`); // RLS applies
 * });
 *
 * // A test that needs a real server is ignored on PGlite (reported as ignored, not passed):
 * Deno.test({ name: "...", ignore: isEmbedded(), async fn() { ... } });
 * ```
 *
 * With `PG_DSN` (a superuser DSN, e.g. `postgres://postgres@127.0.0.1:5432/postgres`) each call
 * creates database `plm_test_<random>` and login role `plm_test_<random>` (no BYPASSRLS; made a
 * member of `plm_kernel_writer` once the migrations created it), and `close()` drops both,
 * terminating leftover connections first. Many test files may run at once on one server.
 *
 * On PGlite every connection is the superuser `postgres` and the server takes one connection
 * at a time: `writer` is the same client as `sql`, and row level security applies only inside
 * `tenantScoped` (which switches the role with `SET LOCAL ROLE`).
 *
 * @module
 */
import type postgres from "postgres";
import { connect, startEmbeddedPostgres } from "../src/db.ts";
import { migrate, type MigrateOptions, type MigrationStep } from "../src/migrate.ts";
import { citusNodes, createCitusDatabase, dropCitusDatabase } from "./_citus.ts";

/** A fresh database for one test file (or one test). */
export interface TestDatabase {
  /** `true` on PGlite (PG_DSN unset), `false` on a real server. */
  readonly embedded: boolean;
  /** `true` on a Citus coordinator (the server's database has the `citus` extension). */
  readonly citus: boolean;
  /** Superuser DSN of this database. On PGlite, prefer `sql`: a second connection waits. */
  readonly dsn: string;
  /** Superuser client (row level security does not apply to it). */
  readonly sql: postgres.Sql;
  /**
   * DSN of the login role without BYPASSRLS that is a member of `plm_kernel_writer` (after
   * {@link TestDatabase.migrate}). On PGlite the same as `dsn`.
   */
  readonly writerDsn: string;
  /** Login role name of `writerDsn` (`"postgres"` on PGlite). */
  readonly writerRole: string;
  /** Client on `writerDsn` (pool of 4). On PGlite the very same client as `sql`. */
  readonly writer: postgres.Sql;
  /**
   * Run the migrations (default: up to the latest), then make `writerRole` a member of
   * `plm_kernel_writer` if that role exists.
   */
  migrate(options?: MigrateOptions): Promise<MigrationStep[]>;
  /** Close the clients and drop the database and the login role (PGlite: stop it). */
  close(): Promise<void>;
  /** Same as `close`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@link openTestDatabase}. */
export interface OpenTestDatabaseOptions {
  /** Migrate to the latest revision before returning. @default true */
  migrate?: boolean;
  /**
   * Superuser DSN of the server to use instead of `PG_DSN` (e.g. `CITUS_DSN`). When its
   * database has the `citus` extension, the fresh database is made on every node of the
   * cluster with Citus set up (see tests/_citus.ts). @default `PG_DSN`, else PGlite
   */
  server?: string;
}

/**
 * Open a fresh, empty (or migrated) database for a test.
 *
 * @param options Whether to migrate.
 * @returns The database; close it (or use `await using`).
 */
export async function openTestDatabase(
  options: OpenTestDatabaseOptions = {},
): Promise<TestDatabase> {
  const serverDsn = options.server ?? Deno.env.get("PG_DSN");
  const db = serverDsn ? await openOnServer(serverDsn) : await openEmbedded();
  if (options.migrate ?? true) {
    try {
      await db.migrate();
    } catch (error) {
      await db.close();
      throw error;
    }
  }
  return db;
}

/** Whether the suites run on PGlite (`PG_DSN` unset). */
export function isEmbedded(): boolean {
  return !Deno.env.get("PG_DSN");
}

async function openEmbedded(): Promise<TestDatabase> {
  const pg = await startEmbeddedPostgres();
  return {
    embedded: true,
    citus: false,
    dsn: pg.dsn,
    sql: pg.sql,
    writerDsn: pg.dsn,
    writerRole: "postgres",
    writer: pg.sql,
    migrate: (options) => migrate(pg.sql, options),
    close: () => pg.close(),
    [Symbol.asyncDispose]: () => pg.close(),
  };
}

async function openOnServer(serverDsn: string): Promise<TestDatabase> {
  const name = `plm_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const password = crypto.randomUUID();
  const admin = connect(serverDsn, { max: 1 });
  const nodes = await citusNodes(admin);
  await admin.unsafe(`create role ${name} login password '${password}'`);
  const dsn = withDatabase(serverDsn, name);
  if (nodes) {
    await createCitusDatabase(admin, nodes, name, dsn, (node) => {
      const url = new URL(dsn);
      url.hostname = node.host;
      url.port = String(node.port);
      return url.href;
    });
  } else {
    await admin`create database ${admin(name)}`;
  }
  const writerDsn = withDatabase(serverDsn, name, { user: name, password });
  const sql = connect(dsn, { max: 4 });
  const writer = connect(writerDsn, { max: 4 });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await Promise.all([sql.end({ timeout: 5 }), writer.end({ timeout: 5 })]);
    if (nodes) await dropCitusDatabase(admin, name);
    else await admin`drop database if exists ${admin(name)} with (force)`;
    await admin`drop role if exists ${admin(name)}`;
    await admin.end({ timeout: 5 });
  };
  return {
    embedded: false,
    citus: nodes !== undefined,
    dsn,
    sql,
    writerDsn,
    writerRole: name,
    writer,
    async migrate(options) {
      const steps = await migrate(sql, options);
      const [role] = await sql`select 1 from pg_roles where rolname = 'plm_kernel_writer'`;
      if (role) await sql`grant plm_kernel_writer to ${sql(name)}`;
      // Citus propagates a membership only between roles it tracks in this database; the
      // login role was made from another one.
      if (role && nodes) {
        await sql`select run_command_on_workers(${`grant plm_kernel_writer to ${name}`})`;
      }
      return steps;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function withDatabase(
  dsn: string,
  database: string,
  login?: { user: string; password: string },
): string {
  const url = new URL(dsn);
  url.pathname = `/${database}`;
  if (login) {
    url.username = login.user;
    url.password = login.password;
  }
  return url.href;
}
