/**
 * Internal: what Citus (distributed PostgreSQL) changes for the migration runner, the
 * PostgreSQL emitter and its lifecycle calls. Detection once per pool; the settings the runner
 * applies around every revision on Citus; the transaction settings that carry the tenant to the
 * shards; and the emitter's statements on a Citus coordinator.
 *
 * Why the emitter needs its own statements there: a `set_config` (in a statement's CTE or on its
 * own) runs on the coordinator only, so the shards' row-level security sees no tenant; a
 * correlated subquery over a CTE is refused; a lookup joined to a CTE is not routed to one
 * shard. So each call is a transaction that sets the tenant with `SET LOCAL` (propagated to the
 * shards by `citus.propagate_set_commands = local`), inserts with `ON CONFLICT` on the logical
 * key, then reads the stored `content_hash` of each identity (the same transaction sees its own
 * insert and, in a new snapshot, whatever a racing writer committed): the same classification
 * as the plain statements, without relying on constraint names. Unlike there, the insert comes
 * first, so a replay or conflict draws an identity value (a gap in `id`, nothing stored).
 *
 * @module
 */
import type postgres from "postgres";
import {
  BATCH_TABLES,
  batchJson,
  columnParam,
  columnType,
  EVENT_COLUMNS,
  type EventInsert,
  IDENTITY,
  isBrokenConnection,
  setLocalRole,
} from "./_postgres_kernel_emitter_rows.ts";
import type { Sql } from "./db.ts";
import { UnknownTenant } from "./errors.ts";
import type { EmitOutcome, EventTable } from "./kernel_api.ts";

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

/**
 * The statements (simple protocol, no parameters) that set the tenant, and the role if one is
 * given, for a transaction on the coordinator and on every shard it touches.
 *
 * @param tenantId A validated lower-case UUID (written into the text: `SET` takes no
 *   parameters).
 * @param role A role to switch to, if any (quoted here).
 */
export function citusTransactionSettings(tenantId: string, role: string | undefined): string {
  const switchRole = role === undefined ? "" : `${setLocalRole(role)}; `;
  return `${switchRole}set local citus.propagate_set_commands = local; ` +
    `set local app.tenant_id = '${tenantId}'`;
}

/**
 * Whether a driver error is a foreign key violation because the tenant is not registered, on
 * Citus: errors from the shards carry no `constraint_name`, so the tenant is looked up.
 *
 * @param sql The pool the error came from.
 * @param tenantId The tenant of the failed write (a validated lower-case UUID).
 * @param error What the driver threw.
 */
export async function isUnknownCitusTenant(
  sql: Sql,
  tenantId: string,
  error: unknown,
): Promise<boolean> {
  if ((error as { code?: unknown } | null)?.code !== "23503" || !(await isCitus(sql))) {
    return false;
  }
  const [, found] = await sql.begin((tx) => [
    tx.unsafe(citusTransactionSettings(tenantId, undefined)).simple(),
    tx.unsafe("select 1 from public.tenants where id = $1::uuid", [tenantId]),
  ]);
  return found.length === 0;
}

/**
 * Per table: an insert that skips identities already stored, and the stored content hash of
 * given identities; each for one row (parameters: Citus routes it to its shard directly) and for
 * a batch (a JSON array, inserted in identity order so that concurrent batches cannot deadlock;
 * Citus runs it through the coordinator).
 */
const STATEMENTS = Object.fromEntries(
  BATCH_TABLES.map((table) => {
    const names = EVENT_COLUMNS[table];
    const into = `insert into public.${table} (tenant_id, ${names.join(", ")}) `;
    const skip = `on conflict (tenant_id, ${IDENTITY.join(", ")}) do nothing ` +
      `returning ${IDENTITY.join(", ")}, content_hash`;
    const stored = `select ${IDENTITY.join(", ")}, content_hash from public.${table} ` +
      "where tenant_id = $1::uuid and ";
    const params = names.map((name, i) => columnParam(name, i + 2));
    const record = names.map((name) => `${name} ${columnType(name)}`);
    return [table, {
      insertOne: `${into}values ($1::uuid, ${params.join(", ")}) ${skip}`,
      storedOne: stored + IDENTITY.map((name, i) => `${name} = $${i + 2}::text`).join(" and "),
      insert: `${into}select $1::uuid, ${names.map((name) => `r.${name}`).join(", ")} ` +
        `from jsonb_to_recordset($2::text::jsonb) as r(${record.join(", ")}, ord int4) ` +
        `order by r.trace_id, r.span_id, r.event_type, r.ord ${skip}`,
      stored: `${stored}(${IDENTITY.join(", ")}) in ` +
        "(select * from unnest($2::text[], $3::text[], $4::text[]))",
    }];
  }),
) as Record<EventTable, Record<"insertOne" | "storedOne" | "insert" | "stored", string>>;

/** The plain emitter's snapshot parameters: tenant, model, day, digest, then the row's values. */
const SNAPSHOT_INSERT = "insert into public.pricing_snapshots (tenant_id, model, " +
  "snapshot_date, price_table_digest, pricing_version, source, taken_at, fx_usd_eur) " +
  "values ($1::uuid, $2::text, $3::date, $4::text, $5::text, $6::text, $7::timestamptz, " +
  "$8::numeric) on conflict (tenant_id, model, snapshot_date, price_table_digest) do nothing";
const SNAPSHOT_ID = "select id from public.pricing_snapshots where tenant_id = $1::uuid " +
  "and model = $2::text and snapshot_date = $3::date " +
  "and price_table_digest is not distinct from $4::text";

type Query = readonly [text: string, params: readonly unknown[]];

/** How often a call runs on a broken connection before the error goes to the caller. */
const ATTEMPTS = 3;

/**
 * The emitter's statements on a Citus coordinator, for one tenant, with the results of the
 * plain statements: every call is one pipelined transaction (`BEGIN`, the settings, the
 * statements, `COMMIT`).
 */
export class CitusWriter {
  #sql: Sql;
  #settings: string;
  #tenantId: string;

  /**
   * @param sql The emitter's pool.
   * @param tenantId The emitter's tenant, a validated lower-case UUID.
   * @param role The role to switch to in each transaction, if any.
   */
  constructor(sql: Sql, tenantId: string, role: string | undefined) {
    this.#sql = sql;
    this.#tenantId = tenantId;
    this.#settings = citusTransactionSettings(tenantId, role);
  }

  /** Write one event; its outcome. */
  async one(row: EventInsert): Promise<EmitOutcome> {
    const statements = STATEMENTS[row.table];
    const [inserted, stored] = await this.#transaction([
      [statements.insertOne, [this.#tenantId, ...row.values]],
      [statements.storedOne, [this.#tenantId, ...row.values.slice(0, IDENTITY.length)]],
    ]);
    if (inserted.length > 0) return "inserted";
    return stored[0].content_hash === row.hash ? "replayed" : "conflict";
  }

  /** Write a batch in one transaction; one outcome per row, in order. */
  async many(rows: readonly EventInsert[]): Promise<EmitOutcome[]> {
    const tables = BATCH_TABLES.filter((table) => rows.some((row) => row.table === table));
    const json = batchJson(rows, [...rows.keys()]);
    const queries = tables.flatMap((table): Query[] => {
      const mine = rows.filter((row) => row.table === table);
      const identities = IDENTITY.map((_, at) => mine.map((row) => row.values[at]));
      return [
        [STATEMENTS[table].insert, [this.#tenantId, json[BATCH_TABLES.indexOf(table)]]],
        [STATEMENTS[table].stored, [this.#tenantId, ...identities]],
      ];
    });
    const results = await this.#transaction(queries);
    const found = new Map<EventTable, { inserted: Set<string>; stored: Map<string, string> }>();
    for (const [at, table] of tables.entries()) {
      const identity = (found: postgres.Row) => IDENTITY.map((name) => found[name]).join("\0");
      found.set(table, {
        inserted: new Set(results[2 * at].map(identity)),
        stored: new Map(results[2 * at + 1].map((row) => [identity(row), row.content_hash])),
      });
    }
    return rows.map((row): EmitOutcome => {
      const { inserted, stored } = found.get(row.table)!;
      if (stored.get(row.identity) !== row.hash) return "conflict";
      // The first row of the identity with the stored hash is the one inserted.
      return inserted.delete(row.identity) ? "inserted" : "replayed";
    });
  }

  /** The day's pricing snapshot: the plain statement's parameters, its `[{ id }]` result. */
  async snapshot(params: readonly unknown[]): Promise<postgres.Row[]> {
    const [, ids] = await this.#transaction([
      [SNAPSHOT_INSERT, params],
      [SNAPSHOT_ID, params.slice(0, 4)],
    ]);
    return [{ id: ids[0]?.id ?? null }];
  }

  /**
   * Run `queries` after the settings in one pipelined transaction; a connection that broke
   * under it is retried (every write here is idempotent).
   */
  async #transaction(queries: readonly Query[]): Promise<postgres.Row[][]> {
    for (let attempt = 1;; attempt++) {
      try {
        const results = await this.#sql.begin((tx) => [
          tx.unsafe(this.#settings).simple(),
          ...queries.map(([text, params]) =>
            tx.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: true })
          ),
        ]);
        return results.slice(1) as postgres.Row[][];
      } catch (error) {
        if (await isUnknownCitusTenant(this.#sql, this.#tenantId, error)) {
          throw new UnknownTenant(this.#tenantId, { cause: error });
        }
        if (!isBrokenConnection(error) || attempt === ATTEMPTS) throw error;
      }
    }
  }
}
