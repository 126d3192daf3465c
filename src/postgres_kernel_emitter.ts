/**
 * `PostgresKernelEmitter`: the `KernelEmitter` on PostgreSQL. One statement per emit that
 * inserts on the logical key (`ON CONFLICT ... DO NOTHING`) and tells replay from conflict by the
 * stored content hash, the tenant set transaction-locally inside the statement so that
 * row-level security applies; group commit of concurrent emits; a batch path,
 * {@link PostgresKernelEmitter.emitMany}, one statement for the whole batch. On a Citus
 * coordinator the same calls go through the path of `_postgres_citus.ts` (chosen once per pool).
 *
 * @module
 */
import type postgres from "postgres";
import { z } from "zod";
import {
  BATCH_TABLES,
  batchJson,
  columnParam,
  columnType,
  EVENT_COLUMNS,
  type EventInsert,
  IDENTITY,
  isBrokenConnection,
  isUnavailable,
  isUnknownTenant,
  setLocalRole,
  toEventInsert,
  toEventInserts,
} from "./_postgres_kernel_emitter_rows.ts";
import { tenantId } from "./_contract_schema_fields.ts";
import type { EmitKind } from "./_kernel_api_schemas.ts";
import type { Sql } from "./db.ts";
import { parseContract } from "./_contract_schema_parse.ts";
import type { PriceTable, PricingProvenance } from "./price_table.ts";
import { pricingProvenance } from "./pricing.ts";
import { EmitterUnavailable, IdempotencyConflict, UnknownTenant } from "./errors.ts";
import { PostgresLifecycle } from "./_postgres_lifecycle.ts";
import { CitusWriter, isCitus } from "./_postgres_citus.ts";
import type {
  EndedRun,
  EndRunArgs,
  RaisedQuality,
  RaiseQualityArgs,
  RecordArtifactArgs,
  RecordedArtifact,
  RunLifecycle,
  SettleCostArgs,
  SettledCost,
  StartedRun,
  StartRunArgs,
} from "./lifecycle.ts";
import type { RunCardV1 } from "./run_card.ts";
import type {
  EmitConnectorCallArgs,
  EmitGovernanceArgs,
  EmitLlmCallArgs,
  EmitOutcome,
  EmitTelemetryArgs,
  EventTable,
  KernelEmitter,
  KernelEvent,
} from "./kernel_api.ts";

/** Options of {@link PostgresKernelEmitter}. */
export interface PostgresKernelEmitterOptions {
  /** The one tenant this emitter writes for (a UUID; upper case is normalised). */
  readonly tenantId: string;
  /**
   * A role to switch to, transaction-locally, before each statement. Only for connections
   * whose login role bypasses row-level security (a superuser, e.g. every connection to PGlite
   * through pglite-socket): each statement then runs in a pipelined transaction
   * (`BEGIN; SET LOCAL ROLE ...`, the statement, `COMMIT`: three queries in one round trip).
   *
   * On Citus the role must be able to log in: Citus connects to the workers as the current role.
   *
   * @default undefined (no switch: connect as a login role in `plm_kernel_writer`)
   */
  readonly role?: string;
  /**
   * The price table the LLM calls' costs are computed with. Its provenance (source, when the
   * prices were taken, USD→EUR rate, digest) goes into the `pricing_snapshots` rows of calls
   * whose `pricing_version` is the table's; each table gets its own snapshot per model and day.
   *
   * @default undefined (snapshots without provenance)
   */
  readonly priceTable?: PriceTable;
  /**
   * Group commit: emits that arrive while this emitter's statements are in flight go together
   * in the next statement (the `emitMany` statement, up to 1,000 events), each caller still
   * getting its own outcome. A lone emit goes out at once. Turn it off to send one statement
   * per emit.
   *
   * @default true
   */
  readonly groupCommit?: boolean;
  /**
   * Most statements of this emitter in flight at once (group commit queues the rest).
   *
   * @default the client's pool size (`max`), else 10
   */
  readonly maxInFlight?: number;
}

type Statement = readonly [text: string, params: readonly unknown[]];

/** An emit waiting for group commit. */
interface Queued {
  readonly row: EventInsert;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

const OptionsSchema = z.strictObject({
  tenantId: tenantId(),
  role: z.string().min(1).max(63).optional(),
  priceTable: z.custom<PriceTable>(
    (value) =>
      typeof value === "object" && value !== null && "snapshot" in value && "models" in value,
    "expected a PriceTable (from parseLiteLlmPriceMap or priceTableFromOverrides)",
  ).optional(),
  groupCommit: z.boolean().optional(),
  maxInFlight: z.int().min(1).max(1000).optional(),
});

/** `a.trace_id = b.trace_id and ...` over the identity columns. */
const sameIdentity = (a: string, b: string) =>
  IDENTITY.map((name) => `${a}.${name} = ${b}.${name}`).join(" and ");

/**
 * Per table, the one-row emit in one statement, without a server error in any outcome. It sets
 * the tenant transaction-locally (`g`: row-level security reads it), reads the content hash
 * stored for the logical identity (`s`, in the statement's snapshot), and inserts only when
 * there is none (`ON CONFLICT DO NOTHING` for a concurrent insert): `inserted`; or `stored`
 * equal to the event's hash (a replay) or another (a conflict), with no insert attempted (no
 * identity value drawn, no trigger fired); or neither, when the row that won was committed
 * after the snapshot began (then the statement runs again). Parameters: the tenant, then the
 * row's values in {@link EVENT_COLUMNS} order. Tables are named by schema, so a temporary table
 * of the same name cannot capture the write.
 */
const ONE = Object.fromEntries(BATCH_TABLES.map((table) => {
  const names = EVENT_COLUMNS[table];
  const param = (name: string) => columnParam(name, names.indexOf(name) + 2);
  return [
    table,
    `
    with g as (select set_config('app.tenant_id', $1, true) as tenant),
    s as (
      select x.content_hash from g, public.${table} as x where x.tenant_id = g.tenant::uuid
        and ${IDENTITY.map((name) => `x.${name} = ${param(name)}`).join(" and ")}),
    i as (
      insert into public.${table} (tenant_id, ${names.join(", ")})
      select $1::uuid, ${names.map(param).join(", ")} from g where not exists (select from s)
      on conflict (tenant_id, ${IDENTITY.join(", ")}) do nothing
      returning 1)
    select exists (select from i) as inserted, (select content_hash from s) as stored`,
  ];
})) as Record<EventTable, string>;

/**
 * A batch of any kinds in one statement, so it commits all or nothing (`emitMany`, and the
 * emits that group commit gathers). Parameters: the tenant, then a JSON array of rows per table
 * of {@link BATCH_TABLES} (`[]` for none), each row its {@link EVENT_COLUMNS} plus `ord`. Rows go
 * in in identity order (one order for every transaction, so concurrent batches cannot
 * deadlock), batch order among rows of one identity. Returns one row per identity inserted
 * (`inserted` true, with the hash inserted) and, for the batch rows whose identity was not
 * inserted, the hash stored before the statement's snapshot (`inserted` false); `t` is the
 * table's index in {@link BATCH_TABLES}. (A statement of only the tables present measured
 * slower, 3.4-3.9 ms against 3.0-3.3 ms for 64 telemetry rows: its JSON took longer to read.)
 */
const MANY = (() => {
  const parts = BATCH_TABLES.map((table, t) => {
    const names = EVENT_COLUMNS[table];
    const record = names.map((name) => `${name} ${columnType(name)}`).join(", ");
    return {
      rows: `r${t} as (select * from jsonb_to_recordset($${t + 2}::text::jsonb) as r(${record},
        ord int4))`,
      insert: `i${t} as (
        insert into public.${table} (tenant_id, ${names.join(", ")})
        select $1::uuid, ${names.map((name) => `r.${name}`).join(", ")}
        from g, r${t} as r order by ${IDENTITY.map((name) => `r.${name}`).join(", ")}, r.ord
        on conflict (tenant_id, ${IDENTITY.join(", ")}) do nothing
        returning ${IDENTITY.join(", ")}, content_hash)`,
      inserted: `select ${t} as t, ${IDENTITY.join(", ")}, content_hash, true as inserted
        from i${t}`,
      stored: `select ${t} as t, ${IDENTITY.map((name) => `x.${name}`).join(", ")},
          x.content_hash, false as inserted
        from r${t} as r join public.${table} as x
          on x.tenant_id = g.tenant::uuid and ${sameIdentity("x", "r")}
        where not exists (select from i${t} as n where ${sameIdentity("n", "r")})`,
    };
  });
  return `
    with g as (select set_config('app.tenant_id', $1, true) as tenant),
    ${parts.map((part) => part.rows).join(",\n    ")},
    ${parts.map((part) => part.insert).join(",\n    ")}
    ${parts.map((part) => part.inserted).join("\n    union all ")}
    union all select s.* from g, lateral (
      ${parts.map((part) => part.stored).join("\n      union all ")}
    ) as s`;
})();

/**
 * The day's `pricing_snapshots` row of a model and price table (digest, `null` for none),
 * created if missing with the table's provenance, in one statement: the id inserted, or else
 * the one stored before the statement's snapshot (`null` only when a concurrent emitter
 * committed it after that: then the statement runs again).
 */
const SNAPSHOT = `
  with g as (select set_config('app.tenant_id', $1, true) as tenant),
  i as (
    insert into public.pricing_snapshots (tenant_id, model, snapshot_date, price_table_digest,
      pricing_version, source, taken_at, fx_usd_eur)
    select $1::uuid, $2::text, $3::date, $4::text, $5::text, $6::text, $7::timestamptz,
      $8::numeric from g
    on conflict on constraint uq_pricing_snapshots_tenant_model_date_digest do nothing
    returning id)
  select coalesce((select id from i), (select id from public.pricing_snapshots
    where tenant_id = $1::uuid and model = $2::text and snapshot_date = $3::date
      and price_table_digest is not distinct from $4::text)) as id`;

/**
 * Snapshot ids per client (pool), by tenant, day, model and price-table digest: shared by the
 * pool's emitters, so a new emitter's first call costs no extra round trip once its pool knows
 * the snapshot.
 */
const SNAPSHOT_IDS = new WeakMap<Sql, Map<string, string>>();

/** Most events one coalesced statement carries. */
const GROUP_LIMIT = 1000;

/** How often a statement runs on a broken connection before `EmitterUnavailable`. */
const BROKEN_CONNECTION_ATTEMPTS = 3;

/** How often a statement runs again in the concurrent-insert race before giving up. */
const RACE_ATTEMPTS = 10;

/**
 * A {@link KernelEmitter} for one tenant on PostgreSQL (the schema of this package's
 * migrations). Each method validates its argument and refuses a key of another tenant
 * (`ValidationError`, before any SQL), then runs one statement: a new event is inserted; the
 * same key again returns normally and writes nothing (replay); the same tenant, trace, span
 * and event type with another key throws `IdempotencyConflict`. LLM and connector calls refer
 * to the day's `pricing_snapshots` row of their model (or connector), created on first use (an
 * LLM call priced from the `priceTable` option: the row of that table, with its provenance);
 * `pricing_version: "unavailable"` refers to none. A broken or unreachable database throws
 * `EmitterUnavailable`; nothing is half-written, and the same emitter works again once the
 * server is back. On a Citus coordinator (a database with the `citus` extension, asked once per
 * pool on the first call) the same semantics hold through a path made for distributed tables:
 * each statement runs in a short transaction that sets the tenant with `SET LOCAL`, so that it
 * reaches the shards.
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
export class PostgresKernelEmitter implements KernelEmitter, RunLifecycle {
  /** The emitter's tenant (lower-case UUID). */
  readonly tenantId: string;
  #sql: Sql;
  #role: string | undefined;
  #groupCommit: boolean;
  #maxInFlight: number;
  #inFlight = 0;
  #queue: Queued[] = [];
  #snapshots: Map<string, string>;
  #provenance: PricingProvenance | undefined;
  #day = "";
  #dayEnds = 0;
  #lifecycleCalls: PostgresLifecycle | undefined;
  /** The Citus path, `null` on plain PostgreSQL, `undefined` until the pool was asked. */
  #citus: CitusWriter | null | undefined;

  /**
   * Create the emitter; no SQL is sent until the first emit.
   *
   * @param sql A postgres.js client (its login role a member of `plm_kernel_writer`).
   * @param options The tenant to write for, the role switch if one is needed, group commit.
   * @throws {ValidationError} When `tenantId` is not a UUID, `role` is empty or `maxInFlight`
   *   is not a positive integer.
   */
  constructor(sql: Sql, options: PostgresKernelEmitterOptions) {
    const parsed = parseContract(OptionsSchema, "PostgresKernelEmitterOptions", options);
    this.#sql = sql;
    this.tenantId = parsed.tenantId;
    this.#role = parsed.role;
    this.#provenance = parsed.priceTable && pricingProvenance(parsed.priceTable);
    this.#groupCommit = parsed.groupCommit ?? true;
    this.#maxInFlight = parsed.maxInFlight ?? sql.options?.max ?? 10;
    let snapshots = SNAPSHOT_IDS.get(sql);
    if (snapshots === undefined) SNAPSHOT_IDS.set(sql, snapshots = new Map());
    this.#snapshots = snapshots;
  }

  /**
   * {@inheritDoc KernelEmitter.emitTelemetry}
   *
   * @throws {EmitterUnavailable} When the database cannot be reached; nothing was written.
   */
  emitTelemetry(
    args: Omit<EmitTelemetryArgs, "payload"> & { readonly payload?: Record<string, unknown> },
  ): Promise<void> {
    return this.#emit("telemetry", args);
  }

  /**
   * {@inheritDoc KernelEmitter.emitGovernance}
   *
   * @throws {EmitterUnavailable} When the database cannot be reached; nothing was written.
   */
  emitGovernance(
    args: Omit<EmitGovernanceArgs, "payload"> & { readonly payload?: Record<string, unknown> },
  ): Promise<void> {
    return this.#emit("governance", args);
  }

  /**
   * {@inheritDoc KernelEmitter.recordLlmCall}
   *
   * @throws {EmitterUnavailable} When the database cannot be reached; nothing was written.
   */
  recordLlmCall(args: EmitLlmCallArgs): Promise<void> {
    return this.#emit("llm_call", args);
  }

  /**
   * {@inheritDoc KernelEmitter.recordConnectorCall}
   *
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
   * Record many events at once: one statement for the whole batch (a multi-row insert per
   * table involved, in one transaction), with
   * the semantics of the single methods per event, reported instead of thrown. The whole batch
   * is validated first: one invalid event refuses the batch and nothing is written.
   *
   * @param events The events, of any kinds, in any order.
   * @returns One outcome per event, in order: `"inserted"`, `"replayed"` (the key was stored
   *   before, or earlier in this batch) or `"conflict"` (the identity was stored with another
   *   key).
   * @throws {ValidationError} When any event is invalid (paths like `"3.args.span_id"`).
   * @throws {EmitterUnavailable} When the database cannot be reached. The batch is one
   *   statement, written all or none; retry it with the same keys (stored ones come back
   *   `"replayed"`).
   * @throws {UnknownTenant} When the emitter's tenant is not registered; nothing was written.
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
    const rows = toEventInserts(events, this.tenantId);
    if (rows.length === 0) return [];
    return await this.#guard(async () => {
      await this.#price(rows);
      return await this.#many(rows);
    });
  }

  /** {@inheritDoc RunLifecycle.startRun} */
  startRun(args: StartRunArgs): Promise<StartedRun> {
    return this.#lifecycle().startRun(args);
  }

  /** {@inheritDoc RunLifecycle.endRun} */
  endRun(args: EndRunArgs): Promise<EndedRun> {
    return this.#lifecycle().endRun(args);
  }

  /** {@inheritDoc RunLifecycle.raiseQuality} */
  raiseQuality(args: RaiseQualityArgs): Promise<RaisedQuality> {
    return this.#lifecycle().raiseQuality(args);
  }

  /** {@inheritDoc RunLifecycle.recordArtifact} */
  recordArtifact(args: RecordArtifactArgs): Promise<RecordedArtifact> {
    return this.#lifecycle().recordArtifact(args);
  }

  /** {@inheritDoc RunLifecycle.settleCost} */
  settleCost(args: SettleCostArgs): Promise<SettledCost> {
    return this.#lifecycle().settleCost(args);
  }

  /** {@inheritDoc RunLifecycle.runCard} */
  runCard(trace_id?: string): Promise<RunCardV1 | undefined> {
    return this.#lifecycle().runCard(trace_id);
  }

  #lifecycle(): PostgresLifecycle {
    return this.#lifecycleCalls ??= new PostgresLifecycle(this.#sql, this.tenantId, this.#role);
  }

  async #emit(kind: EmitKind, args: unknown): Promise<void> {
    const row = toEventInsert(kind, args, this.tenantId);
    if (row.pricing !== undefined) await this.#guard(() => this.#price([row]));
    if (!this.#groupCommit) {
      await this.#guard(async () => this.#settle(row, await this.#one(row)));
      return;
    }
    await new Promise<void>((resolve, reject) => {
      if (this.#queue.push({ row, resolve, reject }) === 1) queueMicrotask(() => this.#pump());
    });
  }

  /**
   * Send what is queued, all of it in one statement, while fewer than `maxInFlight` statements
   * are in flight. Runs in a microtask after the first emit was queued, so the emits made in
   * one tick go together (a lone emit waits for nothing else), and whenever a statement returns.
   * One statement for all beats spreading them over the pool: each statement is a commit.
   */
  #pump(): void {
    while (this.#queue.length > 0 && this.#inFlight < this.#maxInFlight) {
      const batch = this.#queue.splice(0, GROUP_LIMIT);
      this.#inFlight++;
      this.#send(batch).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
  }

  /**
   * Send queued emits: one alone as the one-row statement, several as one batch statement.
   * When a batch fails for a reason that may belong to one of its rows, each runs alone, so
   * every caller gets its own outcome.
   */
  async #send(batch: readonly Queued[]): Promise<void> {
    const settle = async (item: Queued, outcome: () => Promise<EmitOutcome>) => {
      try {
        this.#settle(item.row, await this.#guard(outcome));
        item.resolve();
      } catch (error) {
        item.reject(error);
      }
    };
    if (batch.length === 1) return await settle(batch[0], () => this.#one(batch[0].row));
    let outcomes: EmitOutcome[];
    try {
      outcomes = await this.#guard(() => this.#many(batch.map((item) => item.row)));
    } catch (error) {
      if (error instanceof EmitterUnavailable || error instanceof UnknownTenant) {
        for (const item of batch) item.reject(error);
        return;
      }
      await Promise.all(batch.map((item) => settle(item, () => this.#one(item.row))));
      return;
    }
    await Promise.all(batch.map((item, i) => settle(item, () => Promise.resolve(outcomes[i]))));
  }

  /** Return for an insert or a replay; throw `IdempotencyConflict` for a conflict. */
  #settle(row: EventInsert, outcome: EmitOutcome): void {
    if (outcome === "conflict") throw new IdempotencyConflict(row.table, row.key);
  }

  /** One event in one statement (again only in the concurrent-insert race). */
  async #one(row: EventInsert): Promise<EmitOutcome> {
    if (this.#citus) return await this.#citus.one(row);
    const statement: Statement = [ONE[row.table], [this.tenantId, ...row.values]];
    for (let attempt = 0; attempt < RACE_ATTEMPTS; attempt++) {
      const [{ inserted, stored }] = await this.#run(statement);
      if (inserted) return "inserted";
      if (stored !== null) return stored === row.hash ? "replayed" : "conflict";
    }
    throw new Error(`The stored row of "${row.table}" stayed invisible`);
  }

  /** Rows in one batch statement; the rows caught in the concurrent-insert race again. */
  async #many(rows: readonly EventInsert[]): Promise<EmitOutcome[]> {
    if (this.#citus) return await this.#citus.many(rows);
    const outcomes: EmitOutcome[] = new Array(rows.length);
    let pending = [...rows.keys()];
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt === RACE_ATTEMPTS) {
        throw new Error("Rows stored concurrently stayed invisible to the batch");
      }
      const inserted = BATCH_TABLES.map(() => new Map<string, string>());
      const stored = BATCH_TABLES.map(() => new Map<string, string>());
      const found = await this.#run([MANY, [this.tenantId, ...batchJson(rows, pending)]]);
      for (const { t, trace_id, span_id, event_type, content_hash, inserted: isNew } of found) {
        (isNew ? inserted : stored)[t].set(`${trace_id}\0${span_id}\0${event_type}`, content_hash);
      }
      const race: number[] = [];
      for (const i of pending) {
        const row = rows[i];
        const t = BATCH_TABLES.indexOf(row.table);
        const hash = inserted[t].get(row.identity) ?? stored[t].get(row.identity);
        if (hash === undefined) {
          race.push(i);
        } else if (hash !== row.hash) {
          outcomes[i] = "conflict";
        } else if (inserted[t].delete(row.identity)) {
          // The first row of the identity with the inserted hash is the one inserted.
          outcomes[i] = "inserted";
          stored[t].set(row.identity, hash);
        } else {
          outcomes[i] = "replayed";
        }
      }
      pending = race;
    }
    return outcomes;
  }

  /** Set `pricing_snapshot_id` on priced rows, creating the day's snapshots on a cache miss. */
  async #price(rows: readonly EventInsert[]): Promise<void> {
    const now = Date.now();
    if (now >= this.#dayEnds) {
      this.#day = new Date(now).toISOString().slice(0, 10);
      this.#dayEnds = Date.parse(`${this.#day}T00:00:00Z`) + 86_400_000;
    }
    const day = this.#day;
    for (const row of rows) {
      if (row.pricing === undefined) continue;
      const { model, pricingVersion } = row.pricing;
      // The table's provenance belongs to LLM calls priced from it, nothing else.
      const provenance = row.table === "llm_calls" &&
          this.#provenance?.pricing_version === pricingVersion
        ? this.#provenance
        : undefined;
      const digest = provenance?.digest ?? null;
      const cacheKey = `${this.tenantId}\0${day}\0${model}\0${digest ?? ""}`;
      let id = this.#snapshots.get(cacheKey);
      const params = [
        this.tenantId,
        model,
        day,
        digest,
        pricingVersion,
        provenance?.source ?? null,
        provenance?.taken_at ?? null,
        provenance?.fx_usd_eur ?? null,
      ];
      for (let attempt = 0; id === undefined && attempt < RACE_ATTEMPTS; attempt++) {
        const [found] = this.#citus
          ? await this.#citus.snapshot(params)
          : await this.#run([SNAPSHOT, params]);
        if (found.id !== null) this.#snapshots.set(cacheKey, id = String(found.id));
      }
      if (id === undefined) throw new Error("The day's pricing snapshot stayed invisible");
      row.values[row.values.length - 1] = id;
    }
  }

  /**
   * Run one statement, in autocommit; with a role switch, as `BEGIN; SET LOCAL ROLE` (one
   * simple query), the statement and `COMMIT` pipelined on one reserved connection (one round
   * trip). A connection that broke under it is retried on a fresh one, after a pause that lets
   * the driver see the close (without it, a pool of one hands the dead connection out again, and
   * a terminated backend reports itself twice: the socket error, then its 57P01). Every statement
   * here is idempotent: one that did commit comes back as a replay.
   */
  async #run(statement: Statement): Promise<postgres.Row[]> {
    for (let attempt = 1;; attempt++) {
      try {
        return await this.#runOnce(statement);
      } catch (error) {
        if (!isBrokenConnection(error) || attempt === BROKEN_CONNECTION_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  }

  async #runOnce([text, params]: Statement): Promise<postgres.Row[]> {
    const role = this.#role;
    const values = params as postgres.ParameterOrJSON<never>[];
    if (role === undefined) return await this.#sql.unsafe(text, values, { prepare: true });
    const reserved = await this.#sql.reserve();
    try {
      const results = await Promise.allSettled([
        reserved.unsafe(`begin; ${setLocalRole(role)}`),
        reserved.unsafe(text, values, { prepare: true }),
        reserved.unsafe("commit"),
      ]);
      const failed = results.find((result) => result.status === "rejected");
      if (failed !== undefined) throw failed.reason;
      return (results[1] as PromiseFulfilledResult<postgres.Row[]>).value;
    } finally {
      reserved.release();
    }
  }

  /** Turn connection failures into `EmitterUnavailable`, an unknown tenant into `UnknownTenant`. */
  async #guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      if (this.#citus === undefined) {
        const citus = await isCitus(this.#sql);
        this.#citus ??= citus ? new CitusWriter(this.#sql, this.tenantId, this.#role) : null;
      }
      return await work();
    } catch (error) {
      if (isUnavailable(error)) throw new EmitterUnavailable(error);
      if (isUnknownTenant(error)) throw new UnknownTenant(this.tenantId, { cause: error });
      throw error;
    }
  }
}
