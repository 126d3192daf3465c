/**
 * Internal: the run lifecycle on PostgreSQL, behind `PostgresKernelEmitter`'s lifecycle
 * methods. Each call is one short transaction that sets the tenant (and the role, when the
 * emitter switches roles) transaction-locally, so row level security applies; rows it decides
 * on are locked (`FOR UPDATE`) or written with `ON CONFLICT DO NOTHING` and read back, so
 * concurrent identical calls agree on one row. Tables are named with their schema. On Citus the
 * tenant is set with `SET LOCAL`, which reaches the shards.
 *
 * @module
 */
import { compareQuality, parseLifecycleArgs } from "./_lifecycle_schemas.ts";
import { citusTransactionSettings, isCitus, isUnknownCitusTenant } from "./_postgres_citus.ts";
import { isUnavailable } from "./_postgres_kernel_emitter_rows.ts";
import { freezeRunCard } from "./_run_card_schema.ts";
import type { Sql, TransactionSql } from "./db.ts";
import {
  ArtifactConflict,
  CostNotPending,
  CostSettlementConflict,
  EmitterUnavailable,
  QualityRegression,
  RunConflict,
  UnknownCall,
  UnknownRun,
  UnknownTenant,
} from "./errors.ts";
import { idempotencyKeyToString } from "./idempotency.ts";
import type {
  EndedRun,
  EndRunArgs,
  RaisedQuality,
  RaiseQualityArgs,
  RecordArtifactArgs,
  RecordedArtifact,
  SettleCostArgs,
  SettledCost,
  StartedRun,
  StartRunArgs,
} from "./lifecycle.ts";
import type { RunCardV1 } from "./run_card.ts";
import type { QualityLevel } from "./vocabulary.ts";

/** A timestamp column as RFC 3339 text in UTC, microseconds kept. */
function rfc3339(column: string): string {
  return `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

const CARD_COLUMNS = `
  select tenant_id::text, run_id::text, trace_id, product_line,
    ${rfc3339("started_at")} as started_at, ${rfc3339("ended_at")} as ended_at,
    actor_kind::text, actor_id, quality_level::text,
    telemetry_event_count::float8, telemetry_capabilities,
    ${rfc3339("first_telemetry_at")} as first_telemetry_at,
    ${rfc3339("last_telemetry_at")} as last_telemetry_at,
    llm_call_count::float8, llm_models, llm_prompt_tokens::float8,
    llm_completion_tokens::float8, llm_cost_eur::numeric(30, 10)::text as llm_cost_eur,
    llm_cost_pending_count::float8, llm_cost_unavailable_count::float8,
    connector_call_count::float8, connector_ids,
    connector_cost_eur::numeric(30, 10)::text as connector_cost_eur,
    connector_cost_pending_count::float8, connector_cost_unavailable_count::float8,
    artifact_count::float8, artifact_bytes::float8,
    governance_event_count::float8, last_governance_event_type,
    ${rfc3339("last_governance_event_at")} as last_governance_event_at
  from public.mcrc_v1_view`;

/**
 * The run card of a trace (parameters: the tenant, the trace); on Citus (parameter: the trace)
 * without the tenant filter, which row level security makes redundant: Citus refuses the view's
 * outer joins beside a `tenant_id = ...` qual under RLS.
 */
const CARD = `${CARD_COLUMNS} where tenant_id = $1::uuid and trace_id = $2::text`;
const CITUS_CARD = `${CARD_COLUMNS} where trace_id = $1::text`;

/** The lifecycle calls of one tenant's `PostgresKernelEmitter`. */
export class PostgresLifecycle {
  readonly #sql: Sql;
  readonly #tenantId: string;
  readonly #role: string | undefined;

  /**
   * @param sql The emitter's client.
   * @param tenantId The emitter's tenant (lowercase).
   * @param role The role the emitter switches to, if any.
   */
  constructor(sql: Sql, tenantId: string, role: string | undefined) {
    this.#sql = sql;
    this.#tenantId = tenantId;
    this.#role = role;
  }

  /** See `RunLifecycle.startRun`. */
  async startRun(args: StartRunArgs): Promise<StartedRun> {
    const { trace_id, product_line, actor_kind, actor_id } = parseLifecycleArgs(
      "StartRunArgs",
      args,
      this.#tenantId,
    );
    return await this.#transaction(async (tx) => {
      const [inserted] = await tx`
        insert into public.runs (tenant_id, trace_id, product_line, actor_kind, actor_id)
        values (${this.#tenantId}, ${trace_id}, ${product_line}, ${actor_kind}, ${actor_id})
        on conflict on constraint runs_tenant_id_trace_id_key do nothing
        returning id::text`;
      if (inserted) return Object.freeze({ trace_id, run_id: inserted.id, created: true });
      const [run] = await tx`
        select id::text, product_line, actor_kind::text, actor_id from public.runs
        where tenant_id = ${this.#tenantId} and trace_id = ${trace_id}`;
      if (
        run.product_line !== product_line || run.actor_kind !== actor_kind ||
        run.actor_id !== actor_id
      ) {
        throw new RunConflict(trace_id);
      }
      return Object.freeze({ trace_id, run_id: run.id, created: false });
    });
  }

  /** See `RunLifecycle.endRun`. */
  async endRun(args: EndRunArgs): Promise<EndedRun> {
    const { trace_id, quality_level } = parseLifecycleArgs("EndRunArgs", args, this.#tenantId);
    return await this.#transaction(async (tx) => {
      const run = await this.#lockRun(tx, trace_id);
      const level = quality_level ?? run.quality_level;
      if (compareQuality(level, run.quality_level) < 0) {
        throw new QualityRegression(trace_id, run.quality_level, level);
      }
      if (run.ended_at !== null && level === run.quality_level) {
        return Object.freeze({ trace_id, quality_level: level, ended_at: run.ended_at });
      }
      // The run is locked: ended_at is set only if it was not (no COALESCE around now(), and
      // no function in RETURNING: Citus refuses both).
      const where = "where tenant_id = $1::uuid and trace_id = $2::text";
      await tx.unsafe(
        `update public.runs set quality_level = $3::quality_level
           ${run.ended_at === null ? ", ended_at = now()" : ""} ${where}`,
        [this.#tenantId, trace_id, level],
      );
      const [ended] = await tx.unsafe(
        `select ${rfc3339("ended_at")} as ended_at from public.runs ${where}`,
        [this.#tenantId, trace_id],
      );
      return Object.freeze({ trace_id, quality_level: level, ended_at: ended.ended_at });
    });
  }

  /** See `RunLifecycle.raiseQuality`. */
  async raiseQuality(args: RaiseQualityArgs): Promise<RaisedQuality> {
    const { trace_id, quality_level } = parseLifecycleArgs(
      "RaiseQualityArgs",
      args,
      this.#tenantId,
    );
    return await this.#transaction(async (tx) => {
      const run = await this.#lockRun(tx, trace_id);
      const order = compareQuality(quality_level, run.quality_level);
      if (order < 0) throw new QualityRegression(trace_id, run.quality_level, quality_level);
      if (order > 0) {
        await tx`
          update public.runs set quality_level = ${quality_level}::quality_level
          where tenant_id = ${this.#tenantId} and trace_id = ${trace_id}`;
      }
      return Object.freeze({ trace_id, quality_level, raised: order > 0 });
    });
  }

  /** See `RunLifecycle.recordArtifact`. */
  async recordArtifact(args: RecordArtifactArgs): Promise<RecordedArtifact> {
    const { trace_id, artifact } = parseLifecycleArgs(
      "RecordArtifactArgs",
      args,
      this.#tenantId,
    );
    const retention = artifact.retentionUntil?.toISOString() ?? null;
    return await this.#transaction(async (tx) => {
      const [run] = await tx`
        select 1 from public.runs where tenant_id = ${this.#tenantId} and trace_id = ${trace_id}`;
      if (!run) await this.#refuseMissing(tx, new UnknownRun(trace_id));
      const [inserted] = await tx`
        insert into public.artifacts (tenant_id, trace_id, storage_uri, sha256, size_bytes,
          content_type, retention_until)
        values (${this.#tenantId}, ${trace_id}, ${artifact.uri}, ${artifact.sha256},
          ${artifact.size}, ${artifact.contentType}, ${retention}::timestamptz)
        on conflict on constraint uq_artifacts_tenant_uri_sha256 do nothing
        returning 1`;
      if (inserted) return Object.freeze({ created: true });
      const [same] = await tx`
        select trace_id = ${trace_id} and size_bytes = ${artifact.size}
          and content_type = ${artifact.contentType}
          and retention_until is not distinct from ${retention}::timestamptz as same
        from public.artifacts
        where tenant_id = ${this.#tenantId} and storage_uri = ${artifact.uri}
          and sha256 = ${artifact.sha256}`;
      if (!same.same) throw new ArtifactConflict(artifact.uri);
      return Object.freeze({ created: false });
    });
  }

  /** See `RunLifecycle.settleCost`. */
  async settleCost(args: SettleCostArgs): Promise<SettledCost> {
    const { table, idempotency_key, cost_status, cost_eur } = parseLifecycleArgs(
      "SettleCostArgs",
      args,
      this.#tenantId,
    );
    const key = idempotencyKeyToString(idempotency_key);
    const cost = cost_eur ?? null;
    const { trace_id, span_id, event_type, content_hash } = idempotency_key;
    return await this.#transaction(async (tx) => {
      // The primary key, plus the content hash the key carries.
      const call = tx`
        tenant_id = ${this.#tenantId} and trace_id = ${trace_id} and span_id = ${span_id}
        and event_type = ${event_type} and content_hash = ${content_hash}`;
      const [found] = await tx`
        select cost_status, cost_eur is not distinct from round(${cost}::numeric, 10) as same_cost
        from ${tx("public." + table)} where ${call} for update`;
      if (!found) return await this.#refuseMissing(tx, new UnknownCall(table, key));
      if (found.cost_status === "pending") {
        // Unavailable: no price, so no pricing version and no snapshot either.
        const settle = cost_status === "calculated"
          ? tx`cost_status = 'calculated', cost_eur = ${cost}::numeric`
          : tx`cost_status = 'unavailable', cost_eur = null, pricing_version = 'unavailable',
              pricing_snapshot_id = null`;
        await tx`update ${tx("public." + table)} set ${settle} where ${call}`;
        return Object.freeze({ settled: true });
      }
      if (found.cost_status !== cost_status) throw new CostNotPending(table, found.cost_status);
      if (!found.same_cost) throw new CostSettlementConflict(table);
      return Object.freeze({ settled: false });
    });
  }

  /** See `RunLifecycle.runCard`. */
  async runCard(traceId?: string): Promise<RunCardV1 | undefined> {
    const { trace_id } = parseLifecycleArgs(
      "RunCardArgs",
      { trace_id: traceId },
      this.#tenantId,
    );
    const citus = await isCitus(this.#sql);
    return await this.#transaction(async (tx) => {
      const [row] = citus
        ? await tx.unsafe(CITUS_CARD, [trace_id])
        : await tx.unsafe(CARD, [this.#tenantId, trace_id]);
      return row === undefined ? undefined : freezeRunCard({ ...row });
    });
  }

  /** Lock a run's row and read what the lifecycle decides on. */
  async #lockRun(
    tx: TransactionSql,
    traceId: string,
  ): Promise<{ quality_level: QualityLevel; ended_at: string | null }> {
    const [run] = await tx.unsafe(
      `select quality_level::text, ${rfc3339("ended_at")} as ended_at from public.runs
       where tenant_id = $1::uuid and trace_id = $2::text for update`,
      [this.#tenantId, traceId],
    );
    if (!run) return await this.#refuseMissing(tx, new UnknownRun(traceId));
    return { quality_level: run.quality_level, ended_at: run.ended_at };
  }

  /** A row is missing: because the tenant is not registered, or else for `error`. */
  async #refuseMissing(tx: TransactionSql, error: Error): Promise<never> {
    const [tenant] = await tx`select 1 from public.tenants where id = ${this.#tenantId}`;
    throw tenant ? error : new UnknownTenant(this.#tenantId);
  }

  /**
   * Run `work` in a transaction with the tenant (and role) set: a missing tenant's foreign key
   * becomes `UnknownTenant`, a lost connection `EmitterUnavailable`.
   */
  async #transaction<T>(work: (tx: TransactionSql) => Promise<T>): Promise<T> {
    try {
      // On Citus only `SET LOCAL` reaches the shards (asked once per pool).
      const citus = await isCitus(this.#sql);
      return await this.#sql.begin(async (tx) => {
        if (citus) {
          await tx.unsafe(citusTransactionSettings(this.#tenantId, this.#role)).simple();
        } else {
          await tx`select set_config('app.tenant_id', ${this.#tenantId}, true)`;
          if (this.#role !== undefined) await tx`select set_config('role', ${this.#role}, true)`;
        }
        return await work(tx);
      }) as T;
    } catch (error) {
      if (isUnknownTenant(error) || await isUnknownCitusTenant(this.#sql, this.#tenantId, error)) {
        throw new UnknownTenant(this.#tenantId, { cause: error });
      }
      throw isUnavailable(error) ? new EmitterUnavailable(error) : error;
    }
  }
}

/** The tenant foreign key of a table refused the row (SQLSTATE 23503). */
function isUnknownTenant(error: unknown): boolean {
  const fields = error as { code?: unknown; constraint_name?: unknown } | null;
  return fields?.code === "23503" && typeof fields.constraint_name === "string" &&
    fields.constraint_name.endsWith("_tenant_id_fkey");
}
