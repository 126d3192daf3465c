/**
 * Database helpers: a postgres.js pool with sane defaults, tenant-scoped transactions that row
 * level security applies to, and an embedded PostgreSQL for laptops and tests. The row types
 * of the tables are in `db_rows.ts`.
 *
 * @module
 */
import postgres from "postgres";
import { startPglite } from "./_db_embedded.ts";
import { parseTenantId } from "./_contract_schema_fields.ts";
import { ValidationError } from "./errors.ts";

/** A postgres.js client (pool), as {@link connect} returns it. */
export type Sql = postgres.Sql;
/** The transaction handle postgres.js passes to `sql.begin` callbacks. */
export type TransactionSql = postgres.TransactionSql;

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** Largest number of connections in the pool (use 1 for the embedded PostgreSQL). @default 10 */
  max?: number;
  /** Seconds after which an idle connection is closed. @default 30 */
  idleTimeout?: number;
  /** Seconds to wait for a connection before the query fails. @default 10 */
  connectTimeout?: number;
  /** `application_name` shown in `pg_stat_activity`. @default "plm-shared" */
  applicationName?: string;
}

/**
 * Open a postgres.js pool. Connections are made lazily, on the first query. Server notices are
 * dropped; `bigint` and `numeric` columns come back as strings (exact), `timestamptz` and
 * `date` as `Date`, `jsonb` parsed.
 *
 * @param dsn `postgres://user[:password]@host[:port]/database[?sslmode=...]`.
 * @param options Pool settings.
 * @returns The pool; call `end()` when done.
 * @throws {ValidationError} When `dsn` is not a `postgres://` or `postgresql://` URL.
 *
 * @example Open and close a pool
 * ```ts
 * import assert from "node:assert/strict";
 * import { connect } from "./db.ts";
 *
 * const sql = connect("postgres://postgres@127.0.0.1:5432/postgres", { max: 2 });
 * assert.equal(sql.options.max, 2);
 * await sql.end();
 * ```
 */
export function connect(dsn: string, options: ConnectOptions = {}): Sql {
  if (!/^postgres(ql)?:\/\/[^\s]+$/.test(dsn)) {
    throw new ValidationError("ConnectOptions", [
      { path: "dsn", message: 'expected a "postgres://" URL' },
    ]);
  }
  return postgres(dsn, {
    max: options.max ?? 10,
    idle_timeout: options.idleTimeout ?? 30,
    connect_timeout: options.connectTimeout ?? 10,
    connection: { application_name: options.applicationName ?? "plm-shared" },
    onnotice: () => {},
  });
}

/**
 * Run `fn` in one transaction for one tenant: `app.tenant_id` is set transaction-locally and
 * the role is switched to `plm_kernel_writer` for the transaction, so row level security shows
 * and accepts that tenant's rows only. Commits when `fn` resolves, rolls back when it throws.
 * Connect as a login role that is a member of `plm_kernel_writer` (a superuser could switch
 * the role back).
 *
 * @param sql The pool.
 * @param tenantId The tenant's UUID (any case; stored lowercase).
 * @param fn The work, given the transaction.
 * @returns What `fn` returns.
 * @throws {ValidationError} When `tenantId` is not a UUID; no SQL is sent.
 *
 * @example A bad tenant id is refused before any SQL
 * ```ts
 * import assert from "node:assert/strict";
 * import { connect, tenantScoped } from "./db.ts";
 * import { ValidationError } from "./errors.ts";
 *
 * const sql = connect("postgres://postgres@127.0.0.1:1/none");
 * await assert.rejects(tenantScoped(sql, "tenant-1", (tx) => tx`select 1`), ValidationError);
 * await sql.end();
 * ```
 */
export async function tenantScoped<T>(
  sql: Sql,
  tenantId: string,
  fn: (tx: TransactionSql) => T | Promise<T>,
): Promise<T> {
  const tenant = parseTenantId(tenantId);
  return await sql.begin(async (tx) => {
    await tx`select set_config('app.tenant_id', ${tenant}, true),
                    set_config('role', 'plm_kernel_writer', true)`;
    return await fn(tx);
  }) as T;
}

/** Options of {@link startEmbeddedPostgres}. */
export interface StartEmbeddedPostgresOptions {
  /** Directory that keeps the data between runs. @default undefined (in memory) */
  dataDir?: string;
}

/** A running embedded PostgreSQL (PGlite) and its one client. */
export interface EmbeddedPostgres {
  /** DSN on 127.0.0.1 (a free port); the server takes one connection at a time. */
  readonly dsn: string;
  /** The client to use: a pool of one connection (a second connection would wait). */
  readonly sql: Sql;
  /** Ends the client, stops the server and closes the database. */
  close(): Promise<void>;
  /** Same as `close`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Start PGlite (PostgreSQL in WebAssembly, in this process) behind a loopback socket, for
 * laptops, demos and tests with nothing installed. Every connection is the superuser
 * `postgres` and all connections share one session, so it cannot prove login-role isolation;
 * roles, `SET LOCAL ROLE`, row level security, triggers and views behave as on a server.
 *
 * @param options Where to keep the data.
 * @returns The server with its client.
 * @throws {Error} When PGlite cannot start.
 *
 * @example Query the embedded database
 * ```ts
 * import assert from "node:assert/strict";
 * import { startEmbeddedPostgres } from "./db.ts";
 *
 * await using pg = await startEmbeddedPostgres();
 * const [row] = await pg.sql`select 1 + 1 as two`;
 * assert.equal(row.two, 2);
 * ```
 */
export async function startEmbeddedPostgres(
  options: StartEmbeddedPostgresOptions = {},
): Promise<EmbeddedPostgres> {
  const server = await startPglite(options.dataDir);
  const sql = connect(server.dsn, { max: 1 });
  const close = async () => {
    await sql.end();
    await server.close();
  };
  return { dsn: server.dsn, sql, close, [Symbol.asyncDispose]: close };
}
