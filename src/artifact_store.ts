/**
 * The artifact store contract: one interface through which product lines keep files (exports,
 * reports, model outputs) on a local disk (`LocalFilesystemBackend`) or on any S3-protocol
 * store (`ObjectStoreBackend` from `@tracepulse/plm-shared/s3`).
 *
 * @module
 */
import { checkArtifactKey } from "./_artifact_store_keys.ts";

/** How to store one artifact. */
export interface PutArtifactOptions {
  /** MIME type returned by `head` and `get` (`"application/pdf"`). Required. */
  readonly contentType: string;
  /**
   * Keep the artifact at least until then. Recorded with the artifact and returned by `head`;
   * the backends do not enforce it (an S3 bucket enforces it with Object Lock).
   *
   * @default undefined (no retention)
   */
  readonly retentionUntil?: Date;
}

/** Where an artifact was stored and what it contains, as `put` returns it. */
export interface StoredArtifact {
  /** The key it was stored under. */
  readonly key: string;
  /** Location for other tools: `file:///...` (local) or `s3://bucket/key`. */
  readonly uri: string;
  /** Lowercase hex SHA-256 of the bytes, computed while they were written. */
  readonly sha256: string;
  /** Size in bytes. */
  readonly size: number;
}

/** Everything the store knows about an artifact, as `head` returns it. */
export interface ArtifactInfo extends StoredArtifact {
  /** The content type given to `put`. */
  readonly contentType: string;
  /** The retention given to `put`, if any. */
  readonly retentionUntil?: Date;
  /** When the artifact was last written. */
  readonly lastModified: Date;
}

/** An artifact's information and its bytes as a stream, as `get` returns it. */
export interface ArtifactContent extends ArtifactInfo {
  /** The bytes; read it to the end or cancel it to release the file or connection. */
  readonly body: ReadableStream<Uint8Array>;
}

/** One key found by `list`. */
export interface ArtifactListEntry {
  /** The artifact key. */
  readonly key: string;
  /** Size in bytes. */
  readonly size: number;
  /** When the artifact was last written. */
  readonly lastModified: Date;
}

/**
 * Where artifacts live. Keys are relative `/`-separated names (see {@link validateArtifactKey});
 * every method checks the key before touching the store. A `put` is atomic: until it resolves
 * nothing of the new artifact is visible, and if it fails (a body stream that errors included)
 * nothing of it remains visible. `put` to an existing key replaces it.
 *
 * @example Store and read back a report
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtemp, rm } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import type { ArtifactStorageBackend } from "./artifact_store.ts";
 * import { LocalFilesystemBackend } from "./local_filesystem_backend.ts";
 *
 * const root = await mkdtemp(join(tmpdir(), "artifacts-"));
 * const store: ArtifactStorageBackend = new LocalFilesystemBackend({ root });
 * const stored = await store.put("runs/r1/report.txt", new TextEncoder().encode("ok"), {
 *   contentType: "text/plain",
 * });
 * assert.equal(stored.size, 2);
 * assert.equal(new TextDecoder().decode(await store.getBytes("runs/r1/report.txt")), "ok");
 * await rm(root, { recursive: true });
 * ```
 */
export interface ArtifactStorageBackend {
  /**
   * Store `body` under `key`, computing its SHA-256 while writing.
   *
   * @param key The artifact key.
   * @param body The bytes, or a stream of them (read once, never buffered whole).
   * @param options Content type and retention.
   * @returns Where it was stored, its SHA-256 and size.
   * @throws {InvalidArtifactKey} When the key is not acceptable.
   * @throws {ValidationError} When `body` or `options` do not match their types.
   * @throws {ArtifactStoreUnavailable} When the store fails; nothing was stored.
   * Errors of the body stream itself are rethrown unchanged; nothing was stored.
   */
  put(
    key: string,
    body: Uint8Array | ReadableStream<Uint8Array>,
    options: PutArtifactOptions,
  ): Promise<StoredArtifact>;
  /**
   * Open an artifact for reading.
   *
   * @param key The artifact key.
   * @returns Its information and a stream of its bytes.
   * @throws {ArtifactNotFound} When no artifact has this key.
   * @throws {InvalidArtifactKey} When the key is not acceptable.
   * @throws {ArtifactStoreUnavailable} When the store fails.
   */
  get(key: string): Promise<ArtifactContent>;
  /**
   * Read a whole artifact into memory.
   *
   * @param key The artifact key.
   * @returns Its bytes.
   * @throws {ArtifactNotFound} When no artifact has this key.
   * @throws {InvalidArtifactKey} When the key is not acceptable.
   * @throws {ArtifactStoreUnavailable} When the store fails.
   */
  getBytes(key: string): Promise<Uint8Array>;
  /**
   * Read an artifact's information without its bytes.
   *
   * @param key The artifact key.
   * @returns Its information.
   * @throws {ArtifactNotFound} When no artifact has this key.
   * @throws {InvalidArtifactKey} When the key is not acceptable.
   * @throws {ArtifactStoreUnavailable} When the store fails.
   */
  head(key: string): Promise<ArtifactInfo>;
  /**
   * Whether an artifact has this key.
   *
   * @param key The artifact key.
   * @returns `true` when `head` would succeed.
   * @throws {InvalidArtifactKey} When the key is not acceptable.
   * @throws {ArtifactStoreUnavailable} When the store fails.
   */
  exists(key: string): Promise<boolean>;
  /**
   * Delete an artifact. Idempotent: deleting a missing key resolves normally.
   *
   * @param key The artifact key.
   * @returns Nothing, once the artifact is gone.
   * @throws {InvalidArtifactKey} When the key is not acceptable.
   * @throws {ArtifactStoreUnavailable} When the store fails.
   */
  delete(key: string): Promise<void>;
  /**
   * Every key starting with `prefix` (a plain string prefix, not a directory), in ascending
   * UTF-8 byte order; the store's own temp and metadata files are never listed. The prefix is
   * checked when iteration starts.
   *
   * @param prefix Keys must start with it (default `""`: every key).
   * @returns The matching keys with size and time of last write.
   * @throws {InvalidArtifactKey} When no valid key can start with `prefix`.
   * @throws {ArtifactStoreUnavailable} When the store fails.
   */
  list(prefix?: string): AsyncIterable<ArtifactListEntry>;
}

/**
 * Check an artifact key against the rules every backend applies: relative, `/`-separated, at
 * most 1024 UTF-8 bytes; segments non-empty, not `.` or `..`, at most 240 bytes, without NUL,
 * control characters or backslashes, and not starting with `.plm-` (reserved for the store).
 *
 * @param key The candidate key.
 * @returns Nothing when the key is valid.
 * @throws {InvalidArtifactKey} When the key breaks a rule; the message says which.
 *
 * @example Refuse a key that climbs out
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateArtifactKey } from "./artifact_store.ts";
 * import { InvalidArtifactKey } from "./errors.ts";
 *
 * validateArtifactKey("runs/r1/report.pdf");
 * assert.throws(() => validateArtifactKey("runs/../../etc/passwd"), InvalidArtifactKey);
 * ```
 */
export function validateArtifactKey(key: string): void {
  checkArtifactKey(key);
}
