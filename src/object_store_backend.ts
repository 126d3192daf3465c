/**
 * `ObjectStoreBackend`: artifacts as objects in a bucket of any S3-protocol store (AWS S3,
 * MinIO, Ceph, R2, s3rver), through `@aws-sdk/client-s3` and `@aws-sdk/lib-storage`.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import process from "node:process";
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import {
  checkPutArguments,
  digestBytes,
  DigestingStream,
  foundBy,
  readAll,
} from "./_artifact_store_body.ts";
import { objectInfo, s3StoreError, STAGING_PREFIX } from "./_object_store_backend_s3.ts";
import {
  checkArtifactKey,
  checkArtifactPrefix,
  isArtifactKey,
  sortByKey,
} from "./_artifact_store_keys.ts";
import type {
  ArtifactContent,
  ArtifactInfo,
  ArtifactListEntry,
  ArtifactStorageBackend,
  PutArtifactOptions,
  StoredArtifact,
} from "./artifact_store.ts";
import { ArtifactNotFound, ArtifactStoreUnavailable } from "./errors.ts";

/** Which bucket of which S3-protocol store, with which credentials. */
export interface ObjectStoreBackendOptions {
  /**
   * Bucket holding the artifacts (it must exist).
   *
   * @default process.env.S3_BUCKET
   */
  readonly bucket?: string;
  /**
   * Endpoint URL of an S3-protocol store (`"http://127.0.0.1:9000"`).
   *
   * @default process.env.S3_ENDPOINT_URL, else AWS S3
   */
  readonly endpoint?: string;
  /**
   * Region to sign requests for.
   *
   * @default process.env.S3_REGION, else "us-east-1"
   */
  readonly region?: string;
  /**
   * Access key id.
   *
   * @default process.env.S3_ACCESS_KEY, else the AWS SDK's default credential chain
   */
  readonly accessKeyId?: string;
  /**
   * Secret access key.
   *
   * @default process.env.S3_SECRET_KEY, else the AWS SDK's default credential chain
   */
  readonly secretAccessKey?: string;
  /**
   * Address the bucket in the path (`http://host/bucket/key`) rather than the host name.
   *
   * @default true when an endpoint is set, else false
   */
  readonly forcePathStyle?: boolean;
}

/**
 * Artifacts as objects: key `a/b.pdf` is the object `a/b.pdf`, its SHA-256 and retention are
 * user metadata (`x-amz-meta-sha256`, `x-amz-meta-retention-until`), its content type the
 * object's. Byte arrays are hashed first and uploaded straight to their key (multipart above
 * 5 MiB); streams are uploaded while being hashed to a hidden staging key under `.plm-staging/`,
 * then copied to their key with their SHA-256 and the staging object deleted. Either way an
 * object appears whole, with its metadata, or not at all. Retention is recorded, not
 * enforced: real retention is the bucket's Object Lock configuration. Call `close()` when done.
 *
 * @example Keys are checked before any request
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidArtifactKey } from "./errors.ts";
 * import { ObjectStoreBackend } from "./object_store_backend.ts";
 *
 * const store = new ObjectStoreBackend({
 *   bucket: "artifacts",
 *   endpoint: "http://127.0.0.1:9",
 *   accessKeyId: "key",
 *   secretAccessKey: "secret",
 * });
 * await assert.rejects(store.head("../etc/passwd"), InvalidArtifactKey);
 * store.close();
 * ```
 */
export class ObjectStoreBackend implements ArtifactStorageBackend {
  /** The bucket. */
  readonly bucket: string;
  #client: S3Client;

  /**
   * Configure the client; no request is sent until the first operation.
   *
   * @param options Bucket, endpoint and credentials; missing ones come from the environment.
   * @throws {TypeError} When no bucket is given, or only one half of the credentials.
   */
  constructor(options: ObjectStoreBackendOptions = {}) {
    [this.bucket, this.#client] = connect(options);
  }

  /** {@inheritDoc ArtifactStorageBackend.put} */
  async put(
    key: string,
    body: Uint8Array | ReadableStream<Uint8Array>,
    options: PutArtifactOptions,
  ): Promise<StoredArtifact> {
    checkArtifactKey(key);
    const { contentType, retentionUntil } = checkPutArguments(body, options);
    const metadata = (sha256: string): Record<string, string> => ({
      sha256,
      ...(retentionUntil && { "retention-until": retentionUntil.toISOString() }),
    });
    if (body instanceof Uint8Array) {
      const digest = digestBytes(body);
      try {
        await this.#upload(key, body, contentType, metadata(digest.sha256));
      } catch (error) {
        throw s3StoreError("put", key, error);
      }
      return { key, uri: this.#uri(key), ...digest };
    }
    const staging = `${STAGING_PREFIX}${randomUUID()}`;
    const digesting = new DigestingStream(body);
    try {
      await this.#upload(staging, digesting.readable, contentType, {});
      const digest = digesting.digest();
      await this.#client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: key,
          CopySource: `${this.bucket}/${staging}`,
          MetadataDirective: "REPLACE",
          ContentType: contentType,
          Metadata: metadata(digest.sha256),
        }),
      );
      return { key, uri: this.#uri(key), ...digest };
    } catch (error) {
      if (digesting.failure) throw digesting.failure.error;
      await digesting.cancel(error);
      throw s3StoreError("put", key, error);
    } finally {
      // Best effort: a staging object left by a crash is hidden; a lifecycle rule expires it.
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: staging }))
        .catch(() => {});
    }
  }

  /** {@inheritDoc ArtifactStorageBackend.get} */
  async get(key: string): Promise<ArtifactContent> {
    checkArtifactKey(key);
    try {
      const output = await this.#client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key }),
      );
      const body = output.Body!.transformToWebStream() as ReadableStream<Uint8Array>;
      try {
        return { ...objectInfo(key, this.#uri(key), output), body };
      } catch (error) {
        await body.cancel();
        throw error;
      }
    } catch (error) {
      throw s3StoreError("get", key, error);
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
      const output = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: key }),
      );
      return objectInfo(key, this.#uri(key), output);
    } catch (error) {
      throw s3StoreError("head", key, error);
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
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      const mapped = s3StoreError("delete", key, error);
      if (!(mapped instanceof ArtifactNotFound)) throw mapped;
    }
  }

  /** {@inheritDoc ArtifactStorageBackend.list} */
  async *list(prefix = ""): AsyncIterable<ArtifactListEntry> {
    checkArtifactPrefix(prefix);
    const pages = paginateListObjectsV2(
      { client: this.#client },
      { Bucket: this.bucket, Prefix: prefix },
    );
    const entries: ArtifactListEntry[] = [];
    try {
      for await (const page of pages) {
        for (const object of page.Contents ?? []) {
          // Staging objects and foreign names (not valid keys) are not artifacts.
          if (object.Key === undefined || !isArtifactKey(object.Key)) continue;
          entries.push({
            key: object.Key,
            size: object.Size ?? 0,
            lastModified: object.LastModified!,
          });
        }
      }
    } catch (error) {
      throw new ArtifactStoreUnavailable("list", error);
    }
    // S3 lists in UTF-8 byte order, but not every S3-protocol server does (s3rver does not):
    // read every page, then sort, so the order is the contract's on any server.
    yield* sortByKey(entries);
  }

  /**
   * Release the client's connections. The backend must not be used afterwards.
   *
   * @returns Nothing.
   */
  close(): void {
    this.#client.destroy();
  }

  async #upload(
    key: string,
    body: Uint8Array | ReadableStream<Uint8Array>,
    contentType: string,
    metadata: Record<string, string>,
  ): Promise<void> {
    const params = { Bucket: this.bucket, Key: key, Body: body, ContentType: contentType };
    await new Upload({ client: this.#client, params: { ...params, Metadata: metadata } }).done();
  }

  #uri(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }
}

/**
 * The bucket and a client for `options`, missing options taken from `S3_*` variables.
 *
 * @param options The backend's options.
 * @returns The bucket name and the client.
 * @throws {TypeError} When no bucket is given, or only one half of the credentials.
 */
function connect(options: ObjectStoreBackendOptions): [string, S3Client] {
  const bucket = options.bucket ?? process.env.S3_BUCKET;
  if (!bucket) {
    throw new TypeError('ObjectStoreBackend needs a bucket: pass { bucket } or set "S3_BUCKET"');
  }
  const endpoint = options.endpoint ?? process.env.S3_ENDPOINT_URL;
  const accessKeyId = options.accessKeyId ?? process.env.S3_ACCESS_KEY;
  const secretAccessKey = options.secretAccessKey ?? process.env.S3_SECRET_KEY;
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
    throw new TypeError(
      'ObjectStoreBackend needs both credentials: set accessKeyId and secretAccessKey (or "S3_ACCESS_KEY" and "S3_SECRET_KEY"), or neither',
    );
  }
  const client = new S3Client({
    endpoint,
    region: options.region ?? process.env.S3_REGION ?? "us-east-1",
    forcePathStyle: options.forcePathStyle ?? endpoint !== undefined,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    // Stream bodies have no known length: no checksum header can be computed up front.
    requestChecksumCalculation: "WHEN_REQUIRED",
  });
  return [bucket, client];
}
