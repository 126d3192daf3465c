/**
 * `PostgresKernelEmitter`: the `KernelEmitter` on PostgreSQL. One statement per emit, replay
 * by `ON CONFLICT ON CONSTRAINT <table>_idempotency_key_key DO NOTHING`, conflict by the unique
 * violation of `uq_<table>_logical`, the tenant set transaction-locally inside the statement so
 * that row-level security applies; plus a batch path, {@link PostgresKernelEmitter.emitMany}.
 *
 * @module
 */
import type postgres from "postgres";
import { z } from "zod";
import {
  EVENT_COLUMNS,
  type EventRow,
  isBrokenConnection,
  isLogicalConflict,
  isUnavailable,
  toEventRow,
  toEventRows,
} from "./_emitter_rows.ts";
import { type EmitKind, tenantIdSchema } from "./_kernel_schemas.ts";
import { CitusWriter, isCitus } from "./_postgres_citus.ts";
import type { Sql, TransactionSql } from "./db.ts";
import { parseContract } from "./_validate.ts";
import { EmitterUnavailable, IdempotencyConflict } from "./errors.ts";
import type {
  EmitConnectorCallArgs,
  EmitGovernanceArgs,
  EmitLlmCallArgs,
  EmitTelemetryArgs,
  EventTable,
  KernelEmitter,
} from "./kernel_api.ts";

/** Options of {@link PostgresKernelEmitter}. */
export interface PostgresKernelEmitterOptions {
  /** The one tenant this emitter writes for (a UUID; upper case is normalised). */
  readonly tenantId: string;
  /**
   * A role to switch to, transaction-locally, before each statement. Only for connections
   * whose login role bypasses row-level security (a superuser, e.g. every connection to PGlite
   * through pglite-socket): each statement then runs in a pipelined transaction
   * (`BEGIN; set_config('role', ...); <the statement>; COMMIT`), no longer one round trip.
   *
   * On Citus the role must be able to log in: Citus connects to the workers as the current role.
   *
   * @default undefined (no switch: connect as a login role in `plm_kernel_writer`)
   */
  readonly role?: string;
}

/** One event of a batch: the method it stands for (`kind`) and that method's arguments. */
export type KernelEvent =
  | { readonly kind: "telemetry"; readonly args: Parameters<KernelEmitter["emitTelemetry"]>[0] }
  | { readonly kind: "governance"; readonly args: Parameters<KernelEmitter["emitGovernance"]>[0] }
  | { readonly kind: "llm_call"; readonly args: EmitLlmCallArgs }
  | {
    readonly kind: "connector_call";
    readonly args: Parameters<KernelEmitter["recordConnectorCall"]>[0];
  };

/** What happened to one event of a batch. */
export type EmitOutcome = "inserted" | "replayed" | "conflict";

type Statement = readonly [text: string, params: readonly unknown[]];

const OptionsSchema = z.strictObject({
  tenantId: tenantIdSchema,
  role: z.string().min(1).max(63).optional(),
});

/**
 * Sets the tenant transaction-locally inside the statement. Inserts read from `g`; lookups
 * refer to `g.tenant` in a subquery, so they run after the setting (row-level security reads it).
 */
const WITH_TENANT = "with g as (select set_config('app.tenant_id', $1, true) as tenant) ";

/**
 * Per table: the one-statement emit, the batch insert and the lookup of existing keys. The
 * batch inserts in identity order (one order for every transaction, so concurrent batches
 * cannot deadlock), keeping the batch order (`ord`) among events of one identity.
 */
const STATEMENTS = Object.fromEntries(
  (Object.keys(EVENT_COLUMNS) as EventTable[]).map((table) => {
    const names = EVENT_COLUMNS[table].map(([name]) => name);
    const params = EVENT_COLUMNS[table].map(([, type], i) => `$${i + 2}::${type}`);
    const record = EVENT_COLUMNS[table].map(([name, type]) => `${name} ${type}`);
    const insert = `${WITH_TENANT}insert into ${table} (tenant_id, ${names.join(", ")}) `;
    return [table, {
      one: `${insert}select $1::uuid, ${params.join(", ")} from g ` +
        `on conflict on constraint ${table}_idempotency_key_key do nothing returning id`,
      many: `${insert}select $1::uuid, ${names.map((name) => `r.${name}`).join(", ")} ` +
        `from g, jsonb_to_recordset($2::jsonb) as r(${record.join(", ")}, ord int4) ` +
        "order by r.trace_id, r.span_id, r.event_type, r.ord " +
        "on conflict do nothing returning idempotency_key",
      existing: `${WITH_TENANT}select array(select idempotency_key from ${table} ` +
        "where tenant_id = g.tenant::uuid and idempotency_key = any($2::text[])) as keys from g",
    }];
  }),
) as Record<EventTable, { one: string; many: string; existing: string }>;

const SNAPSHOT_INSERT = `${WITH_TENANT}insert into pricing_snapshots ` +
  "(tenant_id, model, snapshot_date, pricing_version) select $1::uuid, $2::text, $3::date, " +
  "$4::text from g on conflict on constraint uq_pricing_snapshots_tenant_model_date do nothing " +
  "returning id";
const SNAPSHOT_SELECT = `${WITH_TENANT}select (select id from pricing_snapshots ` +
  "where tenant_id = g.tenant::uuid and model = $2::text and snapshot_date = $3::date) as id " +
  "from g";

/**
 * A {@link KernelEmitter} for one tenant on PostgreSQL (the schema of this package's
 * migrations). Each method validates its argument and refuses a key of another tenant
 * (`ValidationError`, before any SQL), then runs one statement: a new event is inserted; the
 * same key again returns normally and writes nothing (replay); the same tenant, trace, span
 * and event type with another key throws `IdempotencyConflict`. LLM and connector calls refer
 * to the day's `pricing_snapshots` row of their model (or connector), created on first use;
 * `pricing_version: "unavailable"` refers to none. A broken or unreachable database throws
 * `EmitterUnavailable`; nothing is half-written, and the same emitter works again once the
 * server is back. On a Citus coordinator (a database with the `citus` extension, asked once per
 * pool on the first write) the same semantics hold through a path made for distributed tables:
 * each write is a short transaction that sets the tenant with `SET LOCAL` so that it reaches the
 * shards.
 *
 * @example Record, replay and conflict (on the embedded PostgreSQL)
 * ```ts
 * import assert from "node:assert/strict";
 * import { startEmbeddedPostgres } from "./db.ts";
 * import { computeContentHash } from "./idempotency.ts";
 * import { migrate } from "./migrate.ts";
 * import { PostgresKernelEmitter } from "./postgres_kernel_emitter.ts";
 *
 * await using pg = await startEmbeddedPostgres();
 * await migrate(pg.sql);
 * const tenantId = crypto.randomUUID();
 * await pg.sql`insert into tenants (id, name) values (${tenantId}, 'acme')`;
 * // PGlite's one login is the superuser: switch role so that row-level security applies.
 * const emitter = new PostgresKernelEmitter(pg.sql, { tenantId, role: "plm_kernel_writer" });
 * const event = (payload: Record<string, unknown>) => ({
 *   event_type: "skill.run.started",
 *   span_id: "00f067aa0ba902b7",
 *   capability: "read.bom",
 *   payload,
 *   idempotency_key: {
 *     tenant_id: tenantId,
 *     trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
 *     span_id: "00f067aa0ba902b7",
 *     event_type: "skill.run.started",
 *     content_hash: computeContentHash(payload),
 *   },
 * });
 * await emitter.emitTelemetry(event({ skill: "bom-diff" }));
 * await emitter.emitTelemetry(event({ skill: "bom-diff" })); // replay: nothing written
 * await assert.rejects(emitter.emitTelemetry(event({ skill: "other" })), {
 *   code: "IDEMPOTENCY_CONFLICT",
 * });
 * const [{ n }] = await pg.sql`select count(*)::int as n from telemetry_events`;
 * assert.equal(n, 1);
 * ```
 */
export class PostgresKernelEmitter implements KernelEmitter {
  /** The emitter's tenant (lower-case UUID). */
  readonly tenantId: string;
  #sql: Sql;
  #role: string | undefined;
  #snapshotDay = "";
  #snapshots = new Map<string, string>();
  #citus: CitusWriter | undefined;

  /**
   * Create the emitter; no SQL is sent until the first emit.
   *
   * @param sql A postgres.js client (its login role a member of `plm_kernel_writer`).
   * @param options The tenant to write for, and the role switch if one is needed.
   * @throws {ValidationError} When `tenantId` is not a UUID or `role` is empty.
   */
  constructor(sql: Sql, options: PostgresKernelEmitterOptions) {
    const parsed = parseContract(OptionsSchema, "PostgresKernelEmitterOptions", options);
    this.#sql = sql;
    this.tenantId = parsed.tenantId;
    this.#role = parsed.role;
  }

  /**
   * Record a telemetry event in `telemetry_events`.
   *
   * @param args The event; `payload` may be left out.
   * @returns Once the event is stored (or was already).
   * @throws {ValidationError} When `args` breaks the contract or the key is another tenant's.
   * @throws {IdempotencyConflict} When the event's identity was stored with other content.
   * @throws {EmitterUnavailable} When the database cannot be reached; nothing was written.
   */
  emitTelemetry(
    args: Omit<EmitTelemetryArgs, "payload"> & { readonly payload?: Record<string, unknown> },
  ): Promise<void> {
    return this.#emit("telemetry", args);
  }

  /**
   * Record a governance event in `telemetry_events`.
   *
   * @param args The event; `payload` may be left out.
   * @returns Once the event is stored (or was already).
   * @throws {ValidationError} When `args` breaks the contract or the key is another tenant's.
   * @throws {IdempotencyConflict} When the event's identity was stored with other content.
   * @throws {EmitterUnavailable} When the database cannot be reached; nothing was written.
   */
  emitGovernance(
    args: Omit<EmitGovernanceArgs, "payload"> & { readonly payload?: Record<string, unknown> },
  ): Promise<void> {
    return this.#emit("governance", args);
  }

  /**
   * Record an LLM call in `llm_calls`, referring to the day's pricing snapshot of its model.
   *
   * @param args The call.
   * @returns Once the call is stored (or was already).
   * @throws {ValidationError} When `args` breaks the contract or the key is another tenant's.
   * @throws {IdempotencyConflict} When the call's identity was stored with other content.
   * @throws {EmitterUnavailable} When the database cannot be reached; nothing was written.
   */
  recordLlmCall(args: EmitLlmCallArgs): Promise<void> {
    return this.#emit("llm_call", args);
  }

  /**
   * Record a connector call in `connector_calls`, referring to the day's pricing snapshot of
   * its connector.
   *
   * @param args The call; `envelope` may be left out.
   * @returns Once the call is stored (or was already).
   * @throws {ValidationError} When `args` breaks the contract or the key is another tenant's.
   * @throws {IdempotencyConflict} When the call's identity was stored with other content.
   * @throws {EmitterUnavailable} When the database cannot be reached; nothing was written.
   */
  recordConnectorCall(
    args:
      & Omit<EmitConnectorCallArgs, "envelope">
      & { readonly envelope?: Record<string, unknown> },
  ): Promise<void> {
    return this.#emit("connector_call", args);
  }

  /**
   * Record many events at once: one statement per table involved (a multi-row insert), with
   * the semantics of the single methods per event, reported instead of thrown. The whole batch
   * is validated first: one invalid event refuses the batch and nothing is written.
   *
   * @param events The events, of any kinds, in any order.
   * @returns One outcome per event, in order: `"inserted"`, `"replayed"` (the key was stored
   *   before, or earlier in this batch) or `"conflict"` (the identity was stored with another
   *   key).
   * @throws {ValidationError} When any event is invalid (paths like `"3.args.span_id"`).
   * @throws {EmitterUnavailable} When the database cannot be reached. Each table's events are
   *   written all or none; retry the batch with the same keys (stored ones come back
   *   `"replayed"`).
   *
   * @example One statement for a batch; outcomes per event
   * ```ts
   * import assert from "node:assert/strict";
   * import { startEmbeddedPostgres } from "./db.ts";
   * import { computeContentHash } from "./idempotency.ts";
   * import { migrate } from "./migrate.ts";
   * import { PostgresKernelEmitter } from "./postgres_kernel_emitter.ts";
   *
   * await using pg = await startEmbeddedPostgres();
   * await migrate(pg.sql);
   * const tenantId = crypto.randomUUID();
   * await pg.sql`insert into tenants (id, name) values (${tenantId}, 'acme')`;
   * const emitter = new PostgresKernelEmitter(pg.sql, { tenantId, role: "plm_kernel_writer" });
   * const step = (spanId: string, n: number) => ({
   *   kind: "telemetry" as const,
   *   args: {
   *     event_type: "skill.step",
   *     span_id: spanId,
   *     capability: "read.bom",
   *     payload: { n },
   *     idempotency_key: {
   *       tenant_id: tenantId,
   *       trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
   *       span_id: spanId,
   *       event_type: "skill.step",
   *       content_hash: computeContentHash({ n }),
   *     },
   *   },
   * });
   * assert.deepEqual(await emitter.emitMany([step("a1", 1), step("a2", 2)]), [
   *   "inserted",
   *   "inserted",
   * ]);
   * assert.deepEqual(await emitter.emitMany([step("a1", 1), step("a2", 9), step("a3", 3)]), [
   *   "replayed",
   *   "conflict",
   *   "inserted",
   * ]);
   * ```
   */
  async emitMany(events: readonly KernelEvent[]): Promise<EmitOutcome[]> {
    const rows = toEventRows(events, this.tenantId);
    let outcomes = rows.map((): EmitOutcome => "inserted");
    await this.#guard(async () => {
      const citus = rows.length > 0 ? await this.#onCitus() : undefined;
      if (citus) return void (outcomes = await citus.emitMany(rows));
      await this.#price(rows);
      for (const table of new Set(rows.map((row) => row.table))) {
        const indexes = [...rows.keys()].filter((i) => rows[i].table === table);
        const columns = indexes.map((i) => ({ ...rows[i].columns, ord: i }));
        const inserted = new Set<string>(
          (await this.#run([STATEMENTS[table].many, [this.tenantId, columns]]))
            .map((found) => found.idempotency_key),
        );
        const rest = indexes.filter((i) => !inserted.delete(rows[i].key));
        if (rest.length === 0) continue;
        const keys = rest.map((i) => rows[i].key);
        const [{ keys: found }] = await this.#run([STATEMENTS[table].existing, [
          this.tenantId,
          keys,
        ]]);
        const stored = new Set<string>(found);
        for (const i of rest) outcomes[i] = stored.has(rows[i].key) ? "replayed" : "conflict";
      }
    });
    return outcomes;
  }

  async #emit(kind: EmitKind, args: unknown): Promise<void> {
    const row = toEventRow(kind, args, this.tenantId);
    await this.#guard(async () => {
      const citus = await this.#onCitus();
      if (citus) return await citus.emit(row);
      await this.#price([row]);
      const columns = EVENT_COLUMNS[row.table].map(([name]) => row.columns[name] ?? null);
      const statement: Statement = [STATEMENTS[row.table].one, [this.tenantId, ...columns]];
      try {
        await this.#run(statement);
      } catch (error) {
        if (!isLogicalConflict(error, row.table)) throw error;
        // A concurrent emit of the same key can fail the logical constraint before it sees
        // the winner's key; once that one committed, the same statement is a replay.
        try {
          await this.#run(statement);
        } catch (again) {
          if (!isLogicalConflict(again, row.table)) throw again;
          throw new IdempotencyConflict(row.table, row.key, { cause: again });
        }
      }
    });
  }

  /** The write path of a Citus coordinator, when the pool's database is one (asked once). */
  async #onCitus(): Promise<CitusWriter | undefined> {
    if (!(await isCitus(this.#sql))) return undefined;
    return this.#citus ??= new CitusWriter(this.#sql, this.tenantId, this.#role);
  }

  /** Set `pricing_snapshot_id` on priced rows, creating the day's snapshots on a cache miss. */
  async #price(rows: readonly EventRow[]): Promise<void> {
    const day = new Date().toISOString().slice(0, 10);
    if (day !== this.#snapshotDay) {
      this.#snapshots.clear();
      this.#snapshotDay = day;
    }
    for (const row of rows) {
      if (row.pricing === undefined) continue;
      const { model, pricingVersion } = row.pricing;
      let id = this.#snapshots.get(model);
      if (id === undefined) {
        const params = [this.tenantId, model, day, pricingVersion];
        const [created] = await this.#run([SNAPSHOT_INSERT, params]);
        const [found] = created
          ? [created]
          : await this.#run([SNAPSHOT_SELECT, params.slice(0, 3)]);
        id = String(found.id);
        this.#snapshots.set(model, id);
      }
      row.columns.pricing_snapshot_id = id;
    }
  }

  /**
   * Run one statement: in autocommit, or after the role switch in a pipelined transaction.
   * A connection that broke under it is retried once on a fresh one (every statement here is
   * idempotent: a statement that did commit comes back as a replay).
   */
  async #run(statement: Statement): Promise<postgres.Row[]> {
    try {
      return await this.#runOnce(statement);
    } catch (error) {
      if (!isBrokenConnection(error)) throw error;
      return await this.#runOnce(statement);
    }
  }

  async #runOnce(statement: Statement): Promise<postgres.Row[]> {
    const role = this.#role;
    const query = (sql: Sql | TransactionSql, [text, params]: Statement) =>
      sql.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: true });
    if (role === undefined) return await query(this.#sql, statement);
    const [, rows] = await this.#sql.begin((tx) => [
      query(tx, ["select set_config('role', $1, true)", [role]]),
      query(tx, statement),
    ]);
    return rows;
  }

  /** Turn connection failures into `EmitterUnavailable`. */
  async #guard(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      throw isUnavailable(error) ? new EmitterUnavailable(error) : error;
    }
  }
}
