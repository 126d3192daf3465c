/**
 * Internal: what Citus (distributed PostgreSQL) changes for the migration runner and the
 * PostgreSQL emitter. Detection once per pool; the settings the runner applies around every
 * revision on Citus; and the emitter's write path on a Citus coordinator.
 *
 * Why the emitter needs its own path there: a `set_config` inside a statement's CTE runs on the
 * coordinator only (the shards' row-level security sees no tenant), errors coming back from
 * shards lose `constraint_name`, and a correlated subquery over a CTE is refused. So each write
 * is a transaction that sets the tenant with `SET LOCAL` (propagated to the shards by
 * `citus.propagate_set_commands = local`), inserts with `ON CONFLICT` on the logical key, and
 * classifies replay and conflict by reading the stored `content_hash` of each identity.
 *
 * @module
 */
import type postgres from "postgres";
import { EVENT_COLUMNS, type EventRow, isBrokenConnection } from "./_emitter_rows.ts";
import type { Sql, TransactionSql } from "./db.ts";
import { IdempotencyConflict } from "./errors.ts";
import type { EventTable } from "./kernel_api.ts";
import type { EmitOutcome } from "./postgres_kernel_emitter.ts";

const DETECT = "select exists (select 1 from pg_extension where extname = 'citus') as citus";

const detected = new WeakMap<object, Promise<boolean>>();

/**
 * Whether the database behind `sql` has the `citus` extension; asked once per pool (or
 * reserved connection), a failed probe is asked again next time.
 */
export function isCitus(sql: Pick<Sql, "unsafe">): Promise<boolean> {
  let found = detected.get(sql);
  if (found === undefined) {
    found = (sql.unsafe(DETECT) as Promise<postgres.Row[]>).then(([row]) => row.citus === true);
    found.catch(() => detected.delete(sql));
    detected.set(sql, found);
  }
  return found;
}

/**
 * Settings the migration runner applies at the start of every revision's transaction on
 * Citus: trigger DDL on distributed tables (`enable_unsafe_triggers`: the triggers of this
 * package only read the row they fire for), and sequential multi-shard DDL (0006's `down`
 * drops triggers and functions that a parallel shard connection would still be using).
 */
export const CITUS_MIGRATION_SETTINGS = "set local citus.enable_unsafe_triggers = on; " +
  "set local citus.multi_shard_modify_mode = 'sequential'";

/** Unique columns that name one event (besides `tenant_id`): the logical key of 0010. */
const IDENTITY = ["trace_id", "span_id", "event_type"] as const;

/**
 * Per table: an insert that skips identities already stored, and the stored content hash of
 * given identities; each for one row (parameters: Citus routes it to its shard directly) and for
 * a batch (a JSON array, inserted in identity order so that concurrent batches cannot deadlock;
 * Citus runs it through the coordinator).
 */
const STATEMENTS = Object.fromEntries(
  (Object.keys(EVENT_COLUMNS) as EventTable[]).map((table) => {
    const names = EVENT_COLUMNS[table].map(([name]) => name);
    const record = EVENT_COLUMNS[table].map(([name, type]) => `${name} ${type}`);
    const into = `insert into public.${table} (tenant_id, ${names.join(", ")}) `;
    const logical = ["tenant_id", ...IDENTITY].join(", ");
    const skip = `on conflict (${logical}) do nothing returning idempotency_key`;
    const stored = `select ${IDENTITY.join(", ")}, content_hash from public.${table} ` +
      "where tenant_id = $1::uuid and ";
    const params = EVENT_COLUMNS[table].map(([, type], i) => `$${i + 2}::${type}`);
    return [table, {
      insertOne: `${into}values ($1::uuid, ${params.join(", ")}) ${skip}`,
      storedOne: stored + IDENTITY.map((name, i) => `${name} = $${i + 2}::text`).join(" and "),
      insert: `${into}select $1::uuid, ${names.map((name) => `r.${name}`).join(", ")} ` +
        `from jsonb_to_recordset($2::jsonb) as r(${record.join(", ")}, ord int4) ` +
        `order by r.trace_id, r.span_id, r.event_type, r.ord ${skip}`,
      stored: `${stored}(${IDENTITY.join(", ")}) in ` +
        "(select * from unnest($2::text[], $3::text[], $4::text[]))",
    }];
  }),
) as Record<EventTable, Record<"insertOne" | "storedOne" | "insert" | "stored", string>>;

const SNAPSHOT_INSERT = "insert into public.pricing_snapshots " +
  "(tenant_id, model, snapshot_date, pricing_version) " +
  "select $1::uuid, r.model, $2::date, r.version " +
  "from jsonb_to_recordset($3::jsonb) as r(model text, version text) " +
  "on conflict (tenant_id, model, snapshot_date) do nothing";
const SNAPSHOT_IDS = "select model, id from public.pricing_snapshots " +
  "where tenant_id = $1::uuid and snapshot_date = $2::date and model = any($3::text[])";

/** One prepared statement of a transaction. */
function query(tx: TransactionSql, text: string, params: readonly unknown[]) {
  return tx.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: true });
}

/** Attempts of one write when racing writers of one identity trip a unique index first. */
const ATTEMPTS = 3;

/**
 * The emitter's writes on a Citus coordinator, for one tenant: every call is one pipelined
 * transaction (`BEGIN`, the settings, the statements, `COMMIT`).
 */
export class CitusWriter {
  #sql: Sql;
  #setup: string;
  #tenantId: string;
  #snapshotDay = "";
  #snapshots = new Map<string, string>();

  /**
   * @param sql The emitter's pool.
   * @param tenantId The emitter's tenant, a validated lower-case UUID (it is written into a
   *   `SET LOCAL`, which takes no parameters).
   * @param role The role to switch to in each transaction, if any (a validated role name).
   */
  constructor(sql: Sql, tenantId: string, role: string | undefined) {
    this.#sql = sql;
    this.#tenantId = tenantId;
    const switchRole = role === undefined ? "" : `set local role "${role.replaceAll('"', '""')}"; `;
    this.#setup = `${switchRole}set local citus.propagate_set_commands = local; ` +
      `set local app.tenant_id = '${tenantId}'`;
  }

  /** Write one event; a conflict throws `IdempotencyConflict`, a replay returns normally. */
  async emit(row: EventRow): Promise<void> {
    const [outcome] = await this.emitMany([row]);
    if (outcome === "conflict") throw new IdempotencyConflict(row.table, row.key);
  }

  /** Write a batch of rows; one outcome per row, in order. */
  async emitMany(rows: readonly EventRow[]): Promise<EmitOutcome[]> {
    await this.#price(rows);
    const outcomes = rows.map((): EmitOutcome => "inserted");
    for (const table of new Set(rows.map((row) => row.table))) {
      const indexes = [...rows.keys()].filter((i) => rows[i].table === table);
      const columns = indexes.map((i) => ({ ...rows[i].columns, ord: i }));
      const identity = (i: number) => IDENTITY.map((name) => rows[i].columns[name]);
      const statements = STATEMENTS[table];
      const [first] = indexes;
      const [inserted, stored] = await this.#transaction((tx) =>
        indexes.length === 1
          ? [
            query(tx, statements.insertOne, [
              this.#tenantId,
              ...EVENT_COLUMNS[table].map(([name]) => rows[first].columns[name] ?? null),
            ]),
            query(tx, statements.storedOne, [this.#tenantId, ...identity(first)]),
          ]
          : [
            query(tx, statements.insert, [this.#tenantId, columns]),
            query(tx, statements.stored, [
              this.#tenantId,
              ...IDENTITY.map((_, at) => indexes.map((i) => identity(i)[at])),
            ]),
          ]
      );
      const fresh = new Set(inserted.map((found) => found.idempotency_key as string));
      const hashes = new Map(
        stored.map((found) => [
          JSON.stringify(IDENTITY.map((name) => found[name])),
          found.content_hash,
        ]),
      );
      for (const i of indexes) {
        if (fresh.delete(rows[i].key)) continue;
        const hash = hashes.get(JSON.stringify(identity(i)));
        outcomes[i] = hash === rows[i].columns.content_hash ? "replayed" : "conflict";
      }
    }
    return outcomes;
  }

  /** Set `pricing_snapshot_id` on priced rows, creating the day's missing snapshots at once. */
  async #price(rows: readonly EventRow[]): Promise<void> {
    const day = new Date().toISOString().slice(0, 10);
    if (day !== this.#snapshotDay) {
      this.#snapshots.clear();
      this.#snapshotDay = day;
    }
    const missing = new Map<string, string>();
    for (const { pricing } of rows) {
      if (pricing && !this.#snapshots.has(pricing.model)) {
        missing.set(pricing.model, pricing.pricingVersion);
      }
    }
    if (missing.size > 0) {
      const wanted = [...missing].map(([model, version]) => ({ model, version }));
      const [, ids] = await this.#transaction((tx) => [
        query(tx, SNAPSHOT_INSERT, [this.#tenantId, day, wanted]),
        query(tx, SNAPSHOT_IDS, [this.#tenantId, day, [...missing.keys()]]),
      ]);
      for (const { model, id } of ids) this.#snapshots.set(model, String(id));
    }
    for (const row of rows) {
      if (row.pricing) row.columns.pricing_snapshot_id = this.#snapshots.get(row.pricing.model);
    }
  }

  /**
   * Run `statements` after the settings in one pipelined transaction; a unique violation
   * (a racing writer of the same identity committed between the arbiter check and the insert)
   * is retried: the next attempt sees the stored row; so is a connection that broke under it
   * (every write here is idempotent).
   */
  async #transaction(
    statements: (tx: TransactionSql) => ReturnType<typeof query>[],
  ): Promise<postgres.Row[][]> {
    for (let attempt = 1;; attempt++) {
      try {
        const results = await this.#sql.begin((tx) => [
          tx.unsafe(this.#setup).simple(),
          ...statements(tx),
        ]);
        return results.slice(1) as postgres.Row[][];
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        if (!(code === "23505" || isBrokenConnection(error)) || attempt === ATTEMPTS) throw error;
      }
    }
  }
}
