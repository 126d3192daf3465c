/**
 * Internal: the directory of an artifact, held open while `LocalFilesystemBackend` works in it,
 * so that a directory swapped for a symlink meanwhile cannot send a write, read or unlink out
 * of the root. On Linux each directory is opened and checked where it really is after opening
 * (`/proc/self/fd/<fd>`), and every name is then resolved through that open descriptor; where
 * there is no `/proc` (macOS, Windows) the real path is checked instead, which narrows the race
 * to the moment between the check and the call.
 *
 * @module
 */
import { constants, existsSync } from "node:fs";
import { type FileHandle, mkdir, open, readlink, realpath } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { errorCode, isInside, syncDirectory } from "./_local_filesystem_backend_files.ts";
import { InvalidArtifactKey } from "./errors.ts";

/** Whether open descriptors can be named as directories (`/proc/self/fd/<fd>/name`). */
const PROC_FD = process.platform === "linux" && existsSync("/proc/self/fd");

/** A directory inside the root, held for the time of one operation. */
export interface HeldDirectory {
  /** Where the directory really is (checked to lie inside the root when it was opened). */
  readonly real: string;
  /** A path naming `name` in this very directory, even if the directory moved since. */
  entry(name: string): string;
  /** Flush new names (renames) to the disk. */
  sync(): Promise<void>;
  /** Let the directory go. */
  close(): Promise<void>;
}

/**
 * Open the directory `segments` below the real root, one segment at a time, each checked to lie
 * inside the root once opened (a symlink that stays inside is followed).
 *
 * @param root The real root.
 * @param segments Directory names below it.
 * @param key The key worked on, for errors.
 * @param create Whether to create missing directories.
 * @returns The held directory; close it.
 * @throws {InvalidArtifactKey} When a segment leads out of the root (or is a broken symlink).
 */
export async function holdDirectory(
  root: string,
  segments: readonly string[],
  key: string,
  create: boolean,
): Promise<HeldDirectory> {
  let held = await openDirectory(root, root);
  try {
    for (const segment of segments) {
      const path = held.entry(segment);
      if (create) {
        await mkdir(path).catch((error) => {
          if (errorCode(error) !== "EEXIST") throw error;
        });
      }
      const next = await openDirectory(path, join(held.real, segment)).catch((error) => {
        if (create && errorCode(error) === "ENOENT") {
          throw new InvalidArtifactKey(key, "passes through a broken symlink");
        }
        throw error;
      });
      await held.close();
      held = next;
      if (!isInside(root, held.real)) throw new InvalidArtifactKey(key, "leads out of the root");
    }
    return held;
  } catch (error) {
    await held.close();
    throw error;
  }
}

/** Open the directory at `path` (`fallback` names it by path where there is no /proc). */
async function openDirectory(path: string, fallback: string): Promise<HeldDirectory> {
  if (!PROC_FD) {
    const real = await realpath(fallback);
    return {
      real,
      entry: (name) => join(real, name),
      sync: () => syncDirectory(real),
      close: async () => {},
    };
  }
  const handle: FileHandle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    const real = await readlink(`/proc/self/fd/${handle.fd}`);
    return {
      real,
      entry: (name) => `/proc/self/fd/${handle.fd}/${name}`,
      sync: () => handle.sync(),
      close: () => handle.close(),
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}
