/**
 * Database helpers: a postgres.js pool with sane defaults, tenant-scoped transactions that row
 * level security applies to, an embedded PostgreSQL for laptops and tests, and the row types
 * of the seven tables.
 *
 * @module
 */
import postgres from "postgres";
import { startPglite } from "./_embedded.ts";
import { parseTenantId } from "./_tenant_id.ts";
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

/** Quality level of a run; it only moves forward. */
export type QualityLevel = "draft" | "reviewed" | "validated" | "released";
/** Who acted in a run. */
export type ActorKind = "human" | "agent" | "system" | "connector";

/** Fields every tenant-scoped row has. `id` is a `bigint` identity, read as a decimal string. */
export interface TenantScopedRow {
  /** Owning tenant. */
  tenant_id: string;
  /** Identity, unique per tenant. */
  id: string;
  /** Insert time. */
  created_at: Date;
}

/** Columns the three event tables share (the idempotency identity). */
export interface EventRow extends TenantScopedRow {
  /** Trace of the run the event belongs to. */
  trace_id: string;
  /** Span that emitted it. */
  span_id: string;
  /** Event type (part of the logical identity). */
  event_type: string;
  /** `idempotencyKeyToString` of the event's key. */
  idempotency_key: string;
  /** `computeContentHash` of the event's content. */
  content_hash: string;
}

/** Cost columns of `llm_calls` and `connector_calls` (`numeric` read as a string). */
export interface CostColumns {
  /** Where the price came from. */
  pricing_version: "litellm-live" | "overrides-static" | "unavailable";
  /** Cost in EUR, 10 decimals, when calculated. */
  cost_eur: string | null;
  /** Moves once from `pending` to `calculated` or `unavailable`. */
  cost_status: "pending" | "calculated" | "unavailable";
  /** The `pricing_snapshots` row used, if any. */
  pricing_snapshot_id: string | null;
}

/** A row of `tenants` (the reference table). */
export interface TenantRow {
  /** Tenant id. */
  id: string;
  /** Display name. */
  name: string;
  /** Insert time. */
  created_at: Date;
}

/** A row of `runs`: one per trace. */
export interface RunRow extends Omit<TenantScopedRow, "created_at"> {
  /** The run's trace. */
  trace_id: string;
  /** Product line that ran it. */
  product_line: string | null;
  /** Kind of actor. */
  actor_kind: ActorKind;
  /** Actor id (`u-42`, an agent name, ...). */
  actor_id: string;
  /** Quality level reached. */
  quality_level: QualityLevel;
  /** Start time. */
  started_at: Date;
  /** End time, once ended. */
  ended_at: Date | null;
}

/** A row of `telemetry_events` (telemetry and governance events). */
export interface TelemetryEventRow extends EventRow {
  /** Which emit wrote it. */
  event_kind: "telemetry" | "governance";
  /** Capability of a telemetry event; `null` for governance events. */
  capability: string | null;
  /** The event's payload. */
  payload: Record<string, unknown>;
}

/** A row of `llm_calls`. */
export interface LlmCallRow extends EventRow, CostColumns {
  /** Model name. */
  model: string;
  /** Prompt tokens. */
  prompt_tokens: number;
  /** Completion tokens. */
  completion_tokens: number;
}

/** A row of `connector_calls`. */
export interface ConnectorCallRow extends EventRow, CostColumns {
  /** Connector (`3dx-rest`). */
  connector_id: string;
  /** Capability used (`read.parts`). */
  capability: string;
  /** The connector's envelope. */
  envelope: Record<string, unknown>;
}

/** A row of `artifacts`. */
export interface ArtifactRow extends TenantScopedRow {
  /** Run that produced it, if any. */
  trace_id: string | null;
  /** Where the bytes are (`s3://...`, `file://...`). */
  storage_uri: string;
  /** Lowercase hex SHA-256 of the bytes. */
  sha256: string;
  /** Size in bytes (`bigint`, as a string). */
  size_bytes: string;
  /** Media type. */
  content_type: string;
  /** Keep until, if limited. */
  retention_until: Date | null;
}

/** A row of `pricing_snapshots`: one price table per tenant, model and day. */
export interface PricingSnapshotRow extends TenantScopedRow {
  /** Model (for connector calls: the connector id). */
  model: string;
  /** Day the prices apply to. */
  snapshot_date: Date;
  /** Price source. */
  pricing_version: "litellm-live" | "overrides-static" | "unavailable";
  /** USD to EUR rate used, if converted. */
  fx_usd_eur: string | null;
  /** Where the prices come from; `null` when recorded without a price table. */
  source: string | null;
  /** When the prices were taken; `null` when recorded without a price table. */
  taken_at: Date | null;
  /** Lowercase hex SHA-256 of the price table; `null` when recorded without one. */
  price_table_digest: string | null;
}
