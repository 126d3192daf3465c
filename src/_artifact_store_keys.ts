/**
 * Internal: the artifact key rules shared by every backend, so a key valid on one backend is
 * valid on all of them.
 *
 * @module
 */
import { InvalidArtifactKey } from "./errors.ts";

/** Key segments starting with this are reserved for the stores' own files (temp, metadata). */
export const RESERVED_SEGMENT_PREFIX = ".plm-";

/** S3's limit on a whole key, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;
/** 255-byte file names minus the local backend's sidecar affixes (`.plm-meta.` + `.json`). */
const MAX_SEGMENT_BYTES = 240;

const encoder = new TextEncoder();

/**
 * Throw {@link InvalidArtifactKey} unless `key` is a relative, `/`-separated key of at most
 * 1024 UTF-8 bytes whose segments are non-empty, not `.` or `..`, at most 240 bytes, free of
 * control characters and backslashes, and do not start with `.plm-`.
 *
 * @param key The candidate key.
 * @throws {InvalidArtifactKey} When the key breaks a rule.
 */
export function checkArtifactKey(key: string): void {
  const problem = keyProblem(key);
  if (problem !== undefined) throw new InvalidArtifactKey(String(key), problem);
}

/**
 * Throw {@link InvalidArtifactKey} unless `prefix` is `""` or the start of some valid key.
 *
 * @param prefix The candidate list prefix.
 * @throws {InvalidArtifactKey} When no valid key can start with `prefix`.
 */
export function checkArtifactPrefix(prefix: string): void {
  // A prefix may end inside a segment ("reports/2024-"): it is valid when completing that
  // segment with one more character gives a valid key.
  const problem = prefix === "" ? undefined : keyProblem(`${prefix}x`);
  if (problem !== undefined) throw new InvalidArtifactKey(String(prefix), problem);
}

/**
 * Whether `key` is a valid artifact key (the test behind {@link checkArtifactKey}), for
 * skipping foreign names while listing.
 *
 * @param key The candidate key.
 * @returns `true` when `checkArtifactKey` would accept it.
 */
export function isArtifactKey(key: string): boolean {
  return keyProblem(key) === undefined;
}

/**
 * Whether a file or object name (one segment) belongs to the store rather than to a user key.
 *
 * @param name One path segment.
 * @returns `true` for names starting with `.plm-`.
 */
export function isReservedName(name: string): boolean {
  return name.startsWith(RESERVED_SEGMENT_PREFIX);
}

function keyProblem(key: string): string | undefined {
  if (typeof key !== "string") return "is not a string";
  if (key === "") return "is empty";
  if (!key.isWellFormed()) return "contains a lone surrogate (not valid UTF-8)";
  if (encoder.encode(key).length > MAX_KEY_BYTES) return `is longer than ${MAX_KEY_BYTES} bytes`;
  if (key.includes("\0")) return "contains NUL";
  // deno-lint-ignore no-control-regex
  if (/[\u0001-\u001f\u007f]/.test(key)) return "contains a control character";
  if (key.includes("\\")) return 'contains a backslash "\\"';
  if (key.startsWith("/")) return 'is absolute (starts with "/")';
  for (const segment of key.split("/")) {
    if (segment === "") return 'has an empty segment ("//" or a trailing "/")';
    if (segment === "." || segment === "..") return `has a "${segment}" segment`;
    if (isReservedName(segment)) {
      return `has a segment starting with "${RESERVED_SEGMENT_PREFIX}" (reserved for the store)`;
    }
    if (encoder.encode(segment).length > MAX_SEGMENT_BYTES) {
      return `has a segment longer than ${MAX_SEGMENT_BYTES} bytes`;
    }
  }
  return undefined;
}

/**
 * Sort listed entries in UTF-8 byte order of their keys, the order `list` promises on every
 * backend (a directory walk and some S3 servers give another; UTF-16 `<` differs above U+FFFF).
 *
 * @param entries Entries in any order.
 * @returns A new array, sorted.
 */
export function sortByKey<T extends { key: string }>(entries: readonly T[]): T[] {
  return entries.map((entry) => ({ entry, bytes: encoder.encode(entry.key) }))
    .sort((a, b) => compareBytes(a.bytes, b.bytes))
    .map(({ entry }) => entry);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length && i < b.length; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}
