/**
 * `LocalFilesystemBackend`: artifacts as plain files under one root directory, for laptops,
 * tests and single-machine deployments. Uses only `node:` built-ins (runs under Node too).
 *
 * @module
 */
import { lstat, mkdir, open, realpath, rename, stat } from "node:fs/promises";
import type { Stats } from "node:fs";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { checkPutArguments, DigestingStream, foundBy, readAll } from "./_artifact_store_body.ts";
import {
  errorCode,
  fileStoreError,
  isInside,
  listFiles,
  readSidecar,
  removeIfPresent,
  type SidecarData,
  sidecarPath,
  syncDirectory,
  tempPath,
  writeSyncedFile,
} from "./_local_filesystem_backend_files.ts";
import { checkArtifactKey, checkArtifactPrefix } from "./_artifact_store_keys.ts";
import type {
  ArtifactContent,
  ArtifactInfo,
  ArtifactListEntry,
  ArtifactStorageBackend,
  PutArtifactOptions,
  StoredArtifact,
} from "./artifact_store.ts";
import { ArtifactNotFound, ArtifactStoreUnavailable, InvalidArtifactKey } from "./errors.ts";

/** Where a {@link LocalFilesystemBackend} keeps its files. */
export interface LocalFilesystemBackendOptions {
  /** Directory holding the artifacts (created beforehand; relative paths resolve now). */
  readonly root: string;
}

/**
 * Artifacts as files under one root: key `a/b.pdf` is the file `<root>/a/b.pdf`, its metadata
 * the hidden sidecar `<root>/a/.plm-meta.b.pdf.json`. A `put` streams into a hidden temp file in
 * the target directory while hashing, flushes it, then renames the sidecar and the file into
 * place, so no partial file is ever visible and a failed write leaves nothing behind. Keys, and
 * symlinks met on the way, never lead out of the root.
 *
 * @example Store, read, list and delete
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtemp, rm } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { ArtifactNotFound } from "./errors.ts";
 * import { LocalFilesystemBackend } from "./local_filesystem_backend.ts";
 *
 * const root = await mkdtemp(join(tmpdir(), "artifacts-"));
 * const store = new LocalFilesystemBackend({ root });
 * const stored = await store.put("runs/r1/out.json", new TextEncoder().encode("{}"), {
 *   contentType: "application/json",
 * });
 * assert.match(stored.uri, /^file:\/\/.*\/runs\/r1\/out\.json$/);
 * assert.equal((await store.head("runs/r1/out.json")).contentType, "application/json");
 * assert.deepEqual((await Array.fromAsync(store.list("runs/"))).map((e) => e.key), [
 *   "runs/r1/out.json",
 * ]);
 * await store.delete("runs/r1/out.json");
 * await assert.rejects(store.get("runs/r1/out.json"), ArtifactNotFound);
 * await rm(root, { recursive: true });
 * ```
 */
export class LocalFilesystemBackend implements ArtifactStorageBackend {
  /** The absolute root directory. */
  readonly root: string;

  /**
   * Use `options.root` as the store; nothing is read or created until the first operation.
   *
   * @param options The root directory.
   * @throws {TypeError} When `root` is missing or empty.
   */
  constructor(options: LocalFilesystemBackendOptions) {
    if (typeof options?.root !== "string" || options.root === "") {
      throw new TypeError(
        'LocalFilesystemBackend needs a root directory: pass { root: "/path/to/artifacts" }',
      );
    }
    this.root = resolve(options.root);
  }

  /** {@inheritDoc ArtifactStorageBackend.put} */
  async put(
    key: string,
    body: Uint8Array | ReadableStream<Uint8Array>,
    options: PutArtifactOptions,
  ): Promise<StoredArtifact> {
    checkArtifactKey(key);
    const { contentType, retentionUntil } = checkPutArguments(body, options);
    const digesting = new DigestingStream(body);
    const temps: string[] = [];
    try {
      const dir = await this.#parentDirectory("put", key, true);
      const target = join(dir, lastSegment(key));
      if ((await stat(target).catch(() => undefined))?.isDirectory()) {
        throw new InvalidArtifactKey(key, "names a directory of artifacts");
      }
      const [dataTemp, metaTemp] = [tempPath(dir), tempPath(dir)];
      temps.push(dataTemp, metaTemp);
      await writeSyncedFile(dataTemp, digesting.readable);
      const digest = digesting.digest();
      const sidecar: SidecarData = {
        v: 1,
        sha256: digest.sha256,
        contentType,
        retentionUntil: retentionUntil?.toISOString(),
      };
      await writeSyncedFile(metaTemp, [new TextEncoder().encode(JSON.stringify(sidecar))]);
      // The sidecar goes first: the artifact becomes visible with the second rename, complete.
      await rename(metaTemp, sidecarPath(target));
      await rename(dataTemp, target);
      await syncDirectory(dir);
      return { key, uri: this.#uri(key), ...digest };
    } catch (error) {
      await Promise.all(temps.map(removeIfPresent));
      if (digesting.failure) throw digesting.failure.error;
      await digesting.cancel(error);
      throw fileStoreError("put", key, error);
    }
  }

  /** {@inheritDoc ArtifactStorageBackend.get} */
  async get(key: string): Promise<ArtifactContent> {
    checkArtifactKey(key);
    let handle;
    try {
      const path = await this.#existingFile("get", key);
      handle = await open(path, "r");
      const [stats, sidecar] = await Promise.all([handle.stat(), readSidecar(path)]);
      const info = this.#info(key, stats, sidecar);
      const body = Readable.toWeb(handle.createReadStream()) as ReadableStream<Uint8Array>;
      return { ...info, body };
    } catch (error) {
      await handle?.close();
      throw fileStoreError("get", key, error);
    }
  }

  /** {@inheritDoc ArtifactStorageBackend.getBytes} */
  async getBytes(key: string): Promise<Uint8Array> {
    return await readAll((await this.get(key)).body);
  }

  /** {@inheritDoc ArtifactStorageBackend.head} */
  async head(key: string): Promise<ArtifactInfo> {
    checkArtifactKey(key);
    try {
      const path = await this.#existingFile("head", key);
      const [stats, sidecar] = await Promise.all([stat(path), readSidecar(path)]);
      return this.#info(key, stats, sidecar);
    } catch (error) {
      throw fileStoreError("head", key, error);
    }
  }

  /** {@inheritDoc ArtifactStorageBackend.exists} */
  async exists(key: string): Promise<boolean> {
    return await foundBy(this.head(key));
  }

  /** {@inheritDoc ArtifactStorageBackend.delete} */
  async delete(key: string): Promise<void> {
    checkArtifactKey(key);
    try {
      const target = join(await this.#parentDirectory("delete", key, false), lastSegment(key));
      // A directory is not an artifact (and Deno's unlink would remove an empty one).
      if ((await lstat(target).catch(() => undefined))?.isDirectory()) return;
      // The file goes first: once it is gone the artifact is gone; a sidecar alone is ignored.
      await removeIfPresent(target);
      await removeIfPresent(sidecarPath(target));
    } catch (error) {
      const mapped = fileStoreError("delete", key, error);
      if (!(mapped instanceof ArtifactNotFound)) throw mapped;
    }
  }

  /** {@inheritDoc ArtifactStorageBackend.list} */
  async *list(prefix = ""): AsyncIterable<ArtifactListEntry> {
    checkArtifactPrefix(prefix);
    let entries: ArtifactListEntry[];
    try {
      entries = await listFiles(await this.#realRoot("list"), prefix);
    } catch (error) {
      throw fileStoreError("list", prefix, error);
    }
    yield* entries;
  }

  async #realRoot(operation: string): Promise<string> {
    try {
      return await realpath(this.root);
    } catch (error) {
      throw new ArtifactStoreUnavailable(operation, error);
    }
  }

  /** Real path of the key's directory, checked to lie inside the root; `create` makes it. */
  async #parentDirectory(operation: string, key: string, create: boolean): Promise<string> {
    const root = await this.#realRoot(operation);
    let current = root;
    for (const segment of key.split("/").slice(0, -1)) {
      const next = join(current, segment);
      if (create) {
        await mkdir(next).catch((error) => {
          if (errorCode(error) !== "EEXIST") throw error;
        });
      }
      current = await realpath(next).catch((error) => {
        if (create && errorCode(error) === "ENOENT") {
          throw new InvalidArtifactKey(key, "passes through a broken symlink");
        }
        throw error;
      });
      if (!isInside(root, current)) throw new InvalidArtifactKey(key, "leads out of the root");
    }
    return current;
  }

  /** Real path of the key's file (symlinks followed), checked to lie inside the root. */
  async #existingFile(operation: string, key: string): Promise<string> {
    const root = await this.#realRoot(operation);
    const path = await realpath(join(root, ...key.split("/")));
    if (!isInside(root, path)) throw new InvalidArtifactKey(key, "leads out of the root");
    return path;
  }

  #info(key: string, stats: Stats, sidecar: SidecarData): ArtifactInfo {
    if (!stats.isFile()) throw new ArtifactNotFound(key);
    return {
      key,
      uri: this.#uri(key),
      sha256: sidecar.sha256,
      size: stats.size,
      contentType: sidecar.contentType,
      ...(sidecar.retentionUntil && { retentionUntil: new Date(sidecar.retentionUntil) }),
      lastModified: stats.mtime,
    };
  }

  #uri(key: string): string {
    return pathToFileURL(join(this.root, ...key.split("/"))).href;
  }
}

function lastSegment(key: string): string {
  return key.slice(key.lastIndexOf("/") + 1);
}
