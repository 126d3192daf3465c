/**
 * Internal: file-system steps of `LocalFilesystemBackend` (durable temp files, sidecar metadata,
 * root containment, error mapping). Only `node:` built-ins, so it runs under Node too.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { open, readdir, readFile, stat, unlink } from "node:fs/promises";
import { isAbsolute, join, relative, sep } from "node:path";
import process from "node:process";
import { z } from "zod";
import { sha256Hex } from "./_contract_schema_fields.ts";
import { isArtifactKey, RESERVED_SEGMENT_PREFIX, sortByKey } from "./_artifact_store_keys.ts";
import type { ArtifactListEntry } from "./artifact_store.ts";
import { ArtifactNotFound, ArtifactStoreUnavailable, InvalidArtifactKey } from "./errors.ts";

/** What the sidecar beside each artifact file records. */
const Sidecar = z.strictObject({
  v: z.literal(1),
  sha256: sha256Hex(),
  contentType: z.string(),
  retentionUntil: z.iso.datetime().optional(),
});

/** The metadata kept in a sidecar. */
export type SidecarData = z.infer<typeof Sidecar>;

/**
 * Name of a new temp file (hidden from `list`, removed when a write fails).
 *
 * @returns A fresh name.
 */
export function tempName(): string {
  return `${RESERVED_SEGMENT_PREFIX}tmp.${randomUUID()}`;
}

/**
 * Name of the sidecar (metadata file) of the artifact file `name` whose inode is `ino`: the
 * metadata belongs to those very bytes, so two writes of one key never mix.
 *
 * @param name The artifact file's name.
 * @param ino Its inode number.
 * @returns The sidecar's name, in the same directory.
 */
export function sidecarName(name: string, ino: bigint): string {
  return `${RESERVED_SEGMENT_PREFIX}meta-${ino}.${name}.json`;
}

/**
 * The inode number a directory entry is the sidecar of, for the artifact file `name`.
 *
 * @param entry A name in the directory.
 * @param name The artifact file's name.
 * @returns The inode number, or `undefined` when `entry` is no sidecar of `name`.
 */
export function sidecarInode(entry: string, name: string): bigint | undefined {
  const prefix = `${RESERVED_SEGMENT_PREFIX}meta-`;
  const suffix = `.${name}.json`;
  if (!entry.startsWith(prefix) || !entry.endsWith(suffix)) return undefined;
  const ino = entry.slice(prefix.length, -suffix.length);
  return /^\d+$/.test(ino) ? BigInt(ino) : undefined;
}

/**
 * Create `path` (it must not exist), write every chunk, flush it to the disk, close it.
 *
 * @param path The new file.
 * @param chunks The bytes.
 */
export async function writeSyncedFile(
  path: string,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<void> {
  const handle = await open(path, "wx");
  try {
    for await (const chunk of chunks) {
      let offset = 0;
      while (offset < chunk.byteLength) {
        offset += (await handle.write(chunk, offset)).bytesWritten;
      }
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Flush a directory's entries (new names from `rename`) to the disk. Windows cannot open a
 * directory; there the rename is left to the file system.
 *
 * @param dir The directory.
 */
export async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === "win32") return;
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Remove a file if it is there.
 *
 * @param path The file.
 */
export async function removeIfPresent(path: string): Promise<void> {
  await unlink(path).catch((error) => {
    // ENOTDIR: a parent is a file, so this path cannot exist either.
    if (!["ENOENT", "ENOTDIR"].includes(errorCode(error) ?? "")) throw error;
  });
}

/**
 * Read and check a sidecar.
 *
 * @param path The sidecar.
 * @returns The metadata.
 * @throws {Error} `ENOENT` when there is none; a `ZodError` or `SyntaxError` when it is damaged.
 */
export async function readSidecar(path: string): Promise<SidecarData> {
  return Sidecar.parse(JSON.parse(await readFile(path, "utf8")));
}

/**
 * Whether `path` lies strictly inside `root` (both real paths).
 *
 * @param root The real root.
 * @param path A real path.
 * @returns `true` when inside.
 */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/**
 * The `code` of a Node file-system error, if any.
 *
 * @param error Anything thrown.
 * @returns `"ENOENT"`, ... or `undefined`.
 */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Turn a file-system error into the artifact store's errors; errors that already are one pass
 * through.
 *
 * @param operation `"put"`, `"get"`, ...
 * @param key The key being worked on.
 * @param error What was thrown.
 * @returns The error to throw.
 */
export function fileStoreError(operation: string, key: string, error: unknown): Error {
  if (
    error instanceof ArtifactNotFound || error instanceof InvalidArtifactKey ||
    error instanceof ArtifactStoreUnavailable
  ) return error;
  const code = errorCode(error);
  if (code === "ENAMETOOLONG") return new InvalidArtifactKey(key, "is too long for this disk");
  if (operation === "put") {
    if (code === "ENOTDIR") return new InvalidArtifactKey(key, "a parent segment is an artifact");
    if (code === "EISDIR") return new InvalidArtifactKey(key, "names a directory of artifacts");
  } else if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") {
    return new ArtifactNotFound(key, { cause: error });
  }
  return new ArtifactStoreUnavailable(operation, error);
}

/**
 * Every artifact file under `root` whose key starts with `prefix`, in UTF-8 byte order of the
 * keys. Symlinks are never followed; names that are not valid keys (the store's own files
 * included) are skipped.
 *
 * @param root The real root.
 * @param prefix The checked prefix.
 * @returns The entries, sorted.
 */
export async function listFiles(root: string, prefix: string): Promise<ArtifactListEntry[]> {
  const entries: ArtifactListEntry[] = [];
  await collect(root, "", prefix, entries);
  // A directory walk is not byte order ("a/b" comes after "a-c").
  return sortByKey(entries);
}

/** Walk `dir` (never through symlinks), adding the files whose key starts with `prefix`. */
async function collect(
  dir: string,
  keyPrefix: string,
  prefix: string,
  out: ArtifactListEntry[],
): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error) => {
    if (errorCode(error) === "ENOENT") return []; // removed while listing
    throw error;
  });
  for (const entry of entries) {
    const key = keyPrefix + entry.name;
    if (!isArtifactKey(key)) continue;
    if (entry.isDirectory()) {
      if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) {
        await collect(join(dir, entry.name), `${key}/`, prefix, out);
      }
    } else if (entry.isFile() && key.startsWith(prefix)) {
      const stats = await stat(join(dir, entry.name)).catch((error) => {
        if (errorCode(error) === "ENOENT") return undefined; // deleted while listing
        throw error;
      });
      if (stats) out.push({ key, size: stats.size, lastModified: stats.mtime });
    }
  }
}
