/**
 * Idempotency: the key every kernel event carries, the RFC 8785 content hash and the frozen
 * `v1:` key string that the emitters store.
 *
 * @module
 */
import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import { findNonJson, formatJsonPath } from "./_idempotency_json.ts";
import { formatIdempotencyKey, idempotencyKeySchema } from "./_kernel_api_schemas.ts";
import { parseContract } from "./_contract_schema_parse.ts";
import { NonJsonValueError } from "./errors.ts";
import type { ContractSchema } from "./contract_schema.ts";

/** The idempotency key of one kernel event (see the schema of the same name). */
export interface IdempotencyKey {
  /** The tenant, a UUID (lower case once parsed). */
  readonly tenant_id: string;
  /** The trace the event belongs to. */
  readonly trace_id: string;
  /** The span the event belongs to. */
  readonly span_id: string;
  /** The event type (for LLM and connector calls, whatever the caller names the call). */
  readonly event_type: string;
  /** {@link computeContentHash} of the event's content: 64 lowercase hex digits. */
  readonly content_hash: string;
}

/**
 * Schema of {@link IdempotencyKey} (strict: unknown fields are refused).
 *
 * - `tenant_id`: an RFC 9562 UUID, any case, normalised to lower case; not the nil or max UUID.
 * - `trace_id`, `span_id`, `event_type`: 1 to 128 printable ASCII characters, no spaces.
 * - `content_hash`: 64 lowercase hex digits, as {@link computeContentHash} returns.
 *
 * @example Build and check a key
 * ```ts
 * import assert from "node:assert/strict";
 * import { computeContentHash, IdempotencyKey } from "./idempotency.ts";
 *
 * const key = IdempotencyKey.parse({
 *   tenant_id: "0B8F8C1E-1C0A-4D4E-9C1A-3F2B1A0C9D8E",
 *   trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
 *   span_id: "00f067aa0ba902b7",
 *   event_type: "skill.run.started",
 *   content_hash: computeContentHash({ skill: "bom-diff" }),
 * });
 * assert.equal(key.tenant_id, "0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e");
 * assert.equal(IdempotencyKey.safeParse({ ...key, extra: 1 }).success, false);
 * ```
 */
export const IdempotencyKey: ContractSchema<IdempotencyKey> = idempotencyKeySchema;

/**
 * Hash a JSON payload: lowercase hex SHA-256 of its RFC 8785 (JCS) canonical form in UTF-8.
 * Object key order does not matter, `-0` hashes as `0`, numbers are written as ECMAScript
 * writes them (as RFC 8785 requires).
 *
 * Only plain JSON is accepted: `null`, booleans, finite numbers, strings, arrays and plain
 * objects. Everything else is refused, never hashed silently: NaN, ±Infinity, BigInt,
 * `undefined` (in arrays and as a property value), functions, symbols, cycles, lone surrogates
 * in strings or keys, and objects of a class (`Date`, `Map`, anything with its own `toJSON`).
 *
 * @param payload The value to hash (any JSON value; usually an object).
 * @returns 64 lowercase hex digits.
 * @throws {NonJsonValueError} When the payload holds a non-JSON value; `path` says where
 *   (`"$.items[2]"`).
 *
 * @example Key order does not change the hash
 * ```ts
 * import assert from "node:assert/strict";
 * import { computeContentHash } from "./idempotency.ts";
 *
 * assert.equal(computeContentHash({ b: 1, a: [true, null] }), computeContentHash({ a: [true, null], b: 1 }));
 * assert.equal(
 *   computeContentHash({}),
 *   "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
 * );
 * assert.throws(() => computeContentHash({ price: NaN }), { code: "NON_JSON_VALUE", path: "$.price" });
 * ```
 */
export function computeContentHash(payload: unknown): string {
  const problem = findNonJson(payload);
  if (problem !== undefined) {
    throw new NonJsonValueError(formatJsonPath(problem.path), problem.reason);
  }
  // The walk above guarantees plain JSON, for which canonicalize always returns a string.
  return createHash("sha256").update(canonicalize(payload)!, "utf8").digest("hex");
}

/**
 * The stored `idempotency_key` string of a key, in the frozen `v1` format:
 * `v1:<tenant_id>:<trace_id>:<span_id>:<event_type>:<content_hash>`, each field
 * percent-encoded exactly like `encodeURIComponent` (so a `:` or `%` inside a field cannot make
 * two keys collide; Python: `urllib.parse.quote(field, safe="!'()*")`). The key is validated
 * first; `tenant_id` is written in lower case.
 *
 * @param key The idempotency key.
 * @returns The key string, e.g. `v1:0b8f...:4bf9...:00f0...:skill.run.started:44136f...`.
 * @throws {ValidationError} When the key does not match {@link IdempotencyKey}.
 *
 * @example Fields holding a colon stay unambiguous
 * ```ts
 * import assert from "node:assert/strict";
 * import { idempotencyKeyToString } from "./idempotency.ts";
 *
 * const text = idempotencyKeyToString({
 *   tenant_id: "0B8F8C1E-1C0A-4D4E-9C1A-3F2B1A0C9D8E",
 *   trace_id: "trace:1",
 *   span_id: "span-1",
 *   event_type: "skill.run",
 *   content_hash: "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
 * });
 * assert.equal(
 *   text,
 *   "v1:0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e:trace%3A1:span-1:skill.run:" +
 *     "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
 * );
 * ```
 */
export function idempotencyKeyToString(key: IdempotencyKey): string {
  return formatIdempotencyKey(parseContract(idempotencyKeySchema, "IdempotencyKey", key));
}
