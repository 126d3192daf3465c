/**
 * `LocalFilesystemBackend`: artifacts as plain files under one root directory, for laptops,
 * tests and single-machine deployments. Uses only `node:` built-ins (runs under Node too).
 *
 * @module
 */
import { type BigIntStats, constants } from "node:fs";
import { type FileHandle, lstat, open, readdir, realpath, rename } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { checkPutArguments, DigestingStream, foundBy, readAll } from "./_artifact_store_body.ts";
import {
  fileStoreError,
  isInside,
  listFiles,
  readSidecar,
  removeIfPresent,
  type SidecarData,
  sidecarInode,
  sidecarName,
  tempName,
  writeSyncedFile,
} from "./_local_filesystem_backend_files.ts";
import {
  checkArtifactKey,
  checkArtifactPrefix,
  RESERVED_SEGMENT_PREFIX,
} from "./_artifact_store_keys.ts";
import { type HeldDirectory, holdDirectory } from "./_local_filesystem_backend_directory.ts";
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
 * the hidden sidecar `<root>/a/.plm-meta-<inode>.b.pdf.json`, named after the inode of the bytes
 * it describes. A `put` streams into a hidden temp file in the target directory while hashing,
 * flushes it, puts its sidecar in place, then renames the file into place: no partial file is
 * ever visible, a failed write leaves nothing behind, and concurrent overwrites of one key
 * leave one write whole (its bytes with its metadata). Keys, and symlinks met on the way, never
 * lead out of the root, even when a directory is swapped for a symlink during an operation:
 * each directory is held open and checked where it really is (on Linux; elsewhere by real
 * path), and files are opened without following links.
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
    const name = lastSegment(key);
    const temps: string[] = [];
    let dir: HeldDirectory | undefined;
    try {
      dir = await this.#hold("put", key, true);
      if ((await lstat(dir.entry(name)).catch(() => undefined))?.isDirectory()) {
        throw new InvalidArtifactKey(key, "names a directory of artifacts");
      }
      const [dataTemp, metaTemp] = [dir.entry(tempName()), dir.entry(tempName())];
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
      // The sidecar is named after the bytes' inode, so it goes first and no other write's
      // sidecar replaces it; the artifact changes with the one rename of the bytes.
      const { ino } = await lstat(dataTemp, { bigint: true });
      await rename(metaTemp, dir.entry(sidecarName(name, ino)));
      await rename(dataTemp, dir.entry(name));
      await dir.sync();
      await removeStaleSidecars(dir, name);
      return { key, uri: this.#uri(key), ...digest };
    } catch (error) {
      await Promise.all(temps.map(removeIfPresent));
      if (digesting.failure) throw digesting.failure.error;
      await digesting.cancel(error);
      throw fileStoreError("put", key, error);
    } finally {
      await dir?.close();
    }
  }

  /** {@inheritDoc ArtifactStorageBackend.get} */
  async get(key: string): Promise<ArtifactContent> {
    checkArtifactKey(key);
    let opened;
    try {
      opened = await this.#open("get", key);
      const body = Readable.toWeb(opened.handle.createReadStream()) as ReadableStream<Uint8Array>;
      return { ...opened.info, body };
    } catch (error) {
      await opened?.handle.close();
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
      const { handle, info } = await this.#open("head", key);
      await handle.close();
      return info;
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
    let dir: HeldDirectory | undefined;
    try {
      dir = await this.#hold("delete", key, false);
      const name = lastSegment(key);
      // A directory is not an artifact (and Deno's unlink would remove an empty one).
      if ((await lstat(dir.entry(name)).catch(() => undefined))?.isDirectory()) return;
      // The file goes first: once it is gone the artifact is gone; a sidecar alone is ignored.
      await removeIfPresent(dir.entry(name));
      await removeStaleSidecars(dir, name);
    } catch (error) {
      const mapped = fileStoreError("delete", key, error);
      if (!(mapped instanceof ArtifactNotFound)) throw mapped;
    } finally {
      await dir?.close();
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

  /** The key's directory, held open and checked to lie inside the root; `create` makes it. */
  async #hold(operation: string, key: string, create: boolean): Promise<HeldDirectory> {
    const root = await this.#realRoot(operation);
    return await holdDirectory(root, key.split("/").slice(0, -1), key, create);
  }

  /**
   * Open the key's file for reading, never outside the root: a symlink is followed only to a
   * file inside the root, and the file is opened without following a link swapped in since.
   * Its metadata is the sidecar of the very inode opened.
   */
  async #open(operation: string, key: string): Promise<{ handle: FileHandle; info: ArtifactInfo }> {
    const root = await this.#realRoot(operation);
    let dir = await this.#hold(operation, key, false);
    try {
      let name = lastSegment(key);
      if ((await lstat(dir.entry(name))).isSymbolicLink()) {
        const real = await realpath(dir.entry(name));
        if (!isInside(root, real)) throw new InvalidArtifactKey(key, "leads out of the root");
        await dir.close();
        dir = await holdDirectory(
          root,
          relative(root, dirname(real)).split(sep).filter(Boolean),
          key,
          false,
        );
        name = basename(real);
      }
      const handle = await open(dir.entry(name), constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        const stats = await handle.stat({ bigint: true });
        if (!stats.isFile()) throw new ArtifactNotFound(key);
        const sidecar = await readSidecar(dir.entry(sidecarName(name, stats.ino)));
        return { handle, info: this.#info(key, stats, sidecar) };
      } catch (error) {
        await handle.close();
        throw error;
      }
    } finally {
      await dir.close();
    }
  }

  #info(key: string, stats: BigIntStats, sidecar: SidecarData): ArtifactInfo {
    return {
      key,
      uri: this.#uri(key),
      sha256: sidecar.sha256,
      size: Number(stats.size),
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

/**
 * Remove the sidecars of `name` that belong to no file any more: neither the artifact file nor
 * a temp file of a write under way (whose sidecar may already be in place).
 */
async function removeStaleSidecars(dir: HeldDirectory, name: string): Promise<void> {
  const entries = await readdir(dir.entry("."));
  const live = new Set<bigint>();
  for (const entry of entries) {
    if (entry !== name && !entry.startsWith(`${RESERVED_SEGMENT_PREFIX}tmp.`)) continue;
    const stats = await lstat(dir.entry(entry), { bigint: true }).catch(() => undefined);
    if (stats) live.add(stats.ino);
  }
  for (const entry of entries) {
    const ino = sidecarInode(entry, name);
    if (ino !== undefined && !live.has(ino)) await removeIfPresent(dir.entry(entry));
  }
}
