/**
 * Internal: how `ObjectStoreBackend` reads S3 answers: object metadata into `ArtifactInfo`,
 * SDK errors into the artifact store's errors.
 *
 * @module
 */
import type { ArtifactInfo } from "./artifact_store.ts";
import { ArtifactNotFound, ArtifactStoreUnavailable } from "./errors.ts";

/** Where streamed bodies wait, hashed, until they are copied to their key with their SHA-256. */
export const STAGING_PREFIX = ".plm-staging/";

/** The fields `HeadObject` and `GetObject` answers share. */
export interface ObjectHead {
  /** User metadata (`x-amz-meta-*`), keys in lowercase. */
  Metadata?: Record<string, string>;
  /** Size in bytes. */
  ContentLength?: number;
  /** The object's content type. */
  ContentType?: string;
  /** Time of the last write. */
  LastModified?: Date;
}

/**
 * The artifact information in an object's head.
 *
 * @param key The key.
 * @param uri The key's `s3://` URI.
 * @param head The `HeadObject` or `GetObject` answer.
 * @returns The information.
 * @throws {ArtifactNotFound} When the object lacks the store's `sha256` metadata: another tool
 * wrote it, so it is not an artifact.
 */
export function objectInfo(key: string, uri: string, head: ObjectHead): ArtifactInfo {
  const sha256 = head.Metadata?.sha256;
  if (!sha256) throw new ArtifactNotFound(key);
  const retention = head.Metadata?.["retention-until"];
  return {
    key,
    uri,
    sha256,
    size: head.ContentLength ?? 0,
    contentType: head.ContentType ?? "application/octet-stream",
    ...(retention && { retentionUntil: new Date(retention) }),
    lastModified: head.LastModified ?? new Date(0),
  };
}

/**
 * Turn an SDK error into the artifact store's errors: a 404 about the key is
 * `ArtifactNotFound`, anything else `ArtifactStoreUnavailable` (the SDK error as `cause`).
 *
 * @param operation `"put"`, `"get"`, ...
 * @param key The key being worked on.
 * @param error What the SDK threw.
 * @returns The error to throw.
 */
export function s3StoreError(operation: string, key: string, error: unknown): Error {
  if (error instanceof ArtifactNotFound) return error;
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  // HeadObject answers a missing key with a bare 404 ("NotFound"); a missing bucket is not that.
  if (name === "NoSuchKey" || ($metadata?.httpStatusCode === 404 && name !== "NoSuchBucket")) {
    return new ArtifactNotFound(key, { cause: error });
  }
  return new ArtifactStoreUnavailable(operation, error);
}
