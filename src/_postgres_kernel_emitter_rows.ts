/**
 * Internal: what the PostgreSQL emitter writes, without the driver. Turns validated kernel
 * arguments into table rows (and the column order of each event table), validates a
 * batch as a whole, and classifies driver errors by their fields (`code`, `constraint_name`),
 * never by message text.
 *
 * @module
 */
import {
  type EmitArgs,
  type EmitKind,
  formatIdempotencyKey,
  parseEmitArgs,
  parseEmitBatch,
} from "./_kernel_api_schemas.ts";
import type { EventTable } from "./kernel_api.ts";

/** Unique columns that name one event (besides `tenant_id`): the logical key, its primary key. */
export const IDENTITY = ["trace_id", "span_id", "event_type"] as const;

const KEY_COLUMNS = [...IDENTITY, "idempotency_key", "content_hash"];
const COST_COLUMNS = ["pricing_version", "cost_eur", "cost_status", "pricing_snapshot_id"];

/** One row to write: its table, identity, content hash and its column values. */
export interface EventInsert {
  readonly table: EventTable;
  /** The `idempotency_key` string. */
  readonly key: string;
  /** `trace_id`, `span_id` and `event_type` joined by U+0000 (none of them holds one). */
  readonly identity: string;
  /** The key's content hash. */
  readonly hash: string;
  /** The pricing snapshot the row refers to (`model` is the connector id for connectors). */
  readonly pricing?: { readonly model: string; readonly pricingVersion: string };
  /**
   * Values in {@link EVENT_COLUMNS} order; JSON columns already serialised. The emitter sets
   * the last one, `pricing_snapshot_id`, on priced rows.
   */
  readonly values: unknown[];
}

/**
 * Columns the emitter writes per table (besides `tenant_id`), in the order of the parameters of
 * its one-row insert.
 */
export const EVENT_COLUMNS: Readonly<Record<EventTable, readonly string[]>> = {
  telemetry_events: [...KEY_COLUMNS, "event_kind", "capability", "payload"],
  llm_calls: [...KEY_COLUMNS, "model", "prompt_tokens", "completion_tokens", ...COST_COLUMNS],
  connector_calls: [...KEY_COLUMNS, "connector_id", "capability", "envelope", ...COST_COLUMNS],
};

/** Column types other than `text` (JSON columns arrive serialised). */
const TYPES: Readonly<Record<string, string>> = {
  prompt_tokens: "int4",
  completion_tokens: "int4",
  cost_eur: "numeric",
  pricing_snapshot_id: "int8",
  payload: "jsonb",
  envelope: "jsonb",
};

/**
 * The SQL type of a column of {@link EVENT_COLUMNS}.
 *
 * @param name The column.
 * @returns `text`, `int4`, `int8`, `numeric` or `jsonb`.
 */
export function columnType(name: string): string {
  return TYPES[name] ?? "text";
}

/**
 * Parameter `n` cast to the type of column `name` (a JSON column's value arrives as text).
 *
 * @param name The column.
 * @param n The parameter's number.
 * @returns For example `$3::text` or `$9::text::jsonb`.
 */
export function columnParam(name: string, n: number): string {
  const type = columnType(name);
  return type === "jsonb" ? `$${n}::text::jsonb` : `$${n}::${type}`;
}

/** The event tables, in the order of {@link batchJson}'s arrays. */
export const BATCH_TABLES: readonly EventTable[] = [
  "telemetry_events",
  "llm_calls",
  "connector_calls",
];

/**
 * Some rows of a batch as JSON, one array of row objects per table of {@link BATCH_TABLES}
 * (`[]` for none): each object its {@link EVENT_COLUMNS} plus `ord`, the row's index; the
 * already serialised JSON columns written in as they are.
 *
 * @param rows The batch.
 * @param indexes Which of its rows.
 * @returns One JSON array per table.
 */
export function batchJson(rows: readonly EventInsert[], indexes: readonly number[]): string[] {
  const parts = BATCH_TABLES.map((): string[] => []);
  for (const i of indexes) {
    const row = rows[i];
    const names = EVENT_COLUMNS[row.table];
    let object = "{";
    for (let column = 0; column < names.length; column++) {
      const name = names[column];
      const value = row.values[column];
      const json = name === "payload" || name === "envelope"
        ? value as string
        : JSON.stringify(value);
      object += `"${name}":${json},`;
    }
    parts[BATCH_TABLES.indexOf(row.table)].push(`${object}"ord":${i}}`);
  }
  return parts.map((part) => `[${part.join(",")}]`);
}

/**
 * The statement that switches to `role` for the rest of the transaction (simple protocol: `SET`
 * takes no parameters, so the name is quoted here).
 *
 * @param role A role name.
 * @returns `set local role "<role>"`.
 */
export function setLocalRole(role: string): string {
  return `set local role "${role.replaceAll('"', '""')}"`;
}

/** postgres.js and Node socket codes of a connection that failed or broke. */
const CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** Codes of an established connection that broke (see {@link isBrokenConnection}). */
const BROKEN_CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "57P01",
  "57P02",
  "08000",
  "08003",
  "08006",
]);

/**
 * SQLSTATEs of an unreachable server: class 08 (connection exception), 57P01-57P03 (admin or
 * crash shutdown, cannot connect now), 53300 (too many connections).
 */
const UNAVAILABLE_SQLSTATE = /^(?:08[0-9A-Z]{3}|57P0[123]|53300)$/;

/**
 * Validate one event and turn it into its row.
 *
 * @param kind Which method was called.
 * @param args The untrusted arguments.
 * @param tenantId The emitter's tenant (lowercase).
 * @returns The row to write.
 * @throws {ValidationError} When `args` breaks its contract or the key is another tenant's.
 */
export function toEventInsert(kind: EmitKind, args: unknown, tenantId: string): EventInsert {
  return toRow(kind, parseEmitArgs(kind, args, tenantId));
}

/** The row of parsed arguments. */
function toRow(kind: EmitKind, parsed: EmitArgs): EventInsert {
  const key = parsed.idempotency_key;
  const common = {
    key: formatIdempotencyKey(key),
    identity: `${key.trace_id}\0${key.span_id}\0${key.event_type}`,
    hash: key.content_hash,
  };
  const keyValues = [key.trace_id, key.span_id, key.event_type, common.key, key.content_hash];
  if ("payload" in parsed) {
    const capability = "capability" in parsed ? parsed.capability : null;
    const payload = JSON.stringify(parsed.payload);
    return {
      table: "telemetry_events",
      ...common,
      values: [...keyValues, kind, capability, payload],
    };
  }
  const { pricing_version, cost_status } = parsed;
  const cost = [pricing_version, parsed.cost_eur ?? null, cost_status, null];
  const priced = (model: string) =>
    pricing_version === "unavailable"
      ? {}
      : { pricing: { model, pricingVersion: pricing_version } };
  if ("model" in parsed) {
    const { model, prompt_tokens, completion_tokens } = parsed;
    return {
      table: "llm_calls",
      ...common,
      ...priced(model),
      values: [...keyValues, model, prompt_tokens, completion_tokens, ...cost],
    };
  }
  const { connector_id, capability, envelope } = parsed;
  return {
    table: "connector_calls",
    ...common,
    ...priced(connector_id),
    values: [...keyValues, connector_id, capability, JSON.stringify(envelope), ...cost],
  };
}

/**
 * Validate a whole batch before anything is written: every problem of every event is reported
 * in one `ValidationError` (contract `"KernelEvent[]"`, paths such as `"3.args.span_id"`).
 *
 * @param events The untrusted batch: `{ kind, args }` objects.
 * @param tenantId The emitter's tenant (lowercase).
 * @returns One row per event, in order.
 * @throws {ValidationError} When any event is invalid; no row is returned then.
 */
export function toEventInserts(events: unknown, tenantId: string): EventInsert[] {
  return parseEmitBatch(events, tenantId).map(({ kind, args }) => toRow(kind, args));
}

/**
 * Whether a driver error means the database is unreachable or the connection broke.
 *
 * @param error What the driver threw.
 * @returns `true` for connection failures (the statement did not commit).
 */
export function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" &&
    (CONNECTION_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code));
}

/**
 * Whether a driver error means an established connection broke (terminated backend, reset
 * socket): the statement may or may not have run, and running it again on a fresh connection
 * is safe because every emit statement is idempotent. Failures to connect are not included.
 *
 * @param error What the driver threw.
 * @returns `true` when one retry on a new connection makes sense.
 */
export function isBrokenConnection(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && BROKEN_CONNECTION_CODES.has(code);
}

/**
 * Whether a driver error is a foreign key violation on a `<table>_tenant_id_fkey` constraint:
 * the emitter's tenant is not in `tenants`.
 *
 * @param error What the driver threw.
 * @returns `true` when the tenant is not registered.
 */
export function isUnknownTenant(error: unknown): boolean {
  const fields = error as { code?: unknown; constraint_name?: unknown } | null;
  return fields?.code === "23503" && typeof fields.constraint_name === "string" &&
    fields.constraint_name.endsWith("_tenant_id_fkey");
}
