/**
 * Internal: the W3C Trace Context Level 1 header grammar (`traceparent`, `tracestate`) and
 * random ids. Pure functions on strings; never re-exported.
 *
 * @module
 */

/** One `tracestate` list member, `[key, value]`. */
export type TraceStateEntry = readonly [key: string, value: string];

/** The four fields of a valid `traceparent`, flags reduced to the sampled bit. */
export interface TraceparentFields {
  readonly traceId: string;
  readonly parentId: string;
  readonly traceFlags: number;
}

/** The most list members a `tracestate` may hold. */
export const MAX_TRACESTATE_MEMBERS = 32;

/** 32 lowercase hex digits, not all zero. */
export const TRACE_ID_PATTERN: RegExp = /^(?!0{32})[0-9a-f]{32}$/;
/** 16 lowercase hex digits, not all zero. */
export const SPAN_ID_PATTERN: RegExp = /^(?!0{16})[0-9a-f]{16}$/;
/** `simple-key` or `tenant-id "@" system-id` of the tracestate grammar. */
export const TRACESTATE_KEY_PATTERN: RegExp =
  /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})$/;
/** 1 to 256 printable ASCII characters except `,` and `=`, the last one not a space. */
export const TRACESTATE_VALUE_PATTERN: RegExp =
  /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

const TRACEPARENT_HEAD = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const TRACEPARENT_LENGTH = 55;

/**
 * Parse a `traceparent` value as W3C Trace Context Level 1 says: SP/HTAB trimmed at the ends;
 * version 00 exactly 55 characters; version ff invalid; a future version read from its first
 * four fields when it is at least 55 characters long and, if longer, continues with `-`;
 * lowercase hex only; all-zero ids invalid.
 *
 * @param value The raw header value.
 * @returns The fields, or `undefined` when the value is invalid.
 */
export function parseTraceparentFields(value: string): TraceparentFields | undefined {
  const text = trimOws(value);
  if (text.length < TRACEPARENT_LENGTH || text.includes(",")) return undefined;
  const head = TRACEPARENT_HEAD.exec(text.slice(0, TRACEPARENT_LENGTH));
  if (head === null) return undefined;
  const [, version, traceId, parentId, flags] = head;
  if (version === "ff") return undefined;
  if (text.length > TRACEPARENT_LENGTH && (version === "00" || text[55] !== "-")) {
    return undefined;
  }
  if (!TRACE_ID_PATTERN.test(traceId) || !SPAN_ID_PATTERN.test(parentId)) return undefined;
  return { traceId, parentId, traceFlags: Number.parseInt(flags, 16) & 0x01 };
}

/**
 * Parse a `tracestate` value (several header lines already joined with `,`). Members are
 * separated by `,` with optional SP/HTAB around them; empty members are skipped; a duplicate key
 * keeps its left-most member. Strict: any invalid member, or more than 32 members, makes the
 * whole value invalid.
 *
 * @param value The combined header value.
 * @returns The members in order, or `undefined` when the value is invalid.
 */
export function parseTracestate(value: string): TraceStateEntry[] | undefined {
  const entries: TraceStateEntry[] = [];
  const seen = new Set<string>();
  let members = 0;
  for (const raw of value.split(",")) {
    const member = trimOws(raw);
    if (member === "") continue;
    if (++members > MAX_TRACESTATE_MEMBERS) return undefined;
    const equals = member.indexOf("=");
    if (equals < 0) return undefined;
    const key = member.slice(0, equals);
    const entryValue = member.slice(equals + 1);
    if (!TRACESTATE_KEY_PATTERN.test(key) || !TRACESTATE_VALUE_PATTERN.test(entryValue)) {
      return undefined;
    }
    if (seen.has(key)) continue;
    seen.add(key);
    entries.push([key, entryValue]);
  }
  return entries;
}

/**
 * Serialise `tracestate` members without spaces (`a=1,b=2`).
 *
 * @param entries The members in order.
 * @returns The header value, `""` when there is none.
 */
export function formatTracestate(entries: readonly TraceStateEntry[]): string {
  return entries.map(([key, value]) => `${key}=${value}`).join(",");
}

/**
 * A random id of `bytes` bytes as lowercase hex, never all zero.
 *
 * @param bytes 16 for a trace id, 8 for a span id.
 * @returns The hex string.
 */
export function randomHexId(bytes: 8 | 16): string {
  const buffer = new Uint8Array(bytes);
  do crypto.getRandomValues(buffer); while (buffer.every((byte) => byte === 0));
  return Array.from(buffer, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * Remove SP and HTAB (only those) from both ends.
 *
 * @param value The text.
 * @returns The trimmed text.
 */
export function trimOws(value: string): string {
  return value.replace(/^[ \t]+|[ \t]+$/g, "");
}
