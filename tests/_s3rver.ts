/**
 * A real S3-protocol server (npm `s3rver`) on 127.0.0.1, a random port and a fresh temp
 * directory, for the S3 tests.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import crypto from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";

// s3rver encrypts ListObjectsV2 continuation tokens with single DES ("des"), which Deno's
// node:crypto lacks, so every truncated listing would fail with a 500. Triple DES with three
// equal keys is single DES, bit for bit: serve "des" with it.
const { createCipheriv, createDecipheriv } = crypto;
const desAsTripleDes = (key: crypto.BinaryLike) =>
  Buffer.concat(Array(3).fill(Buffer.from(key as Uint8Array)));
Object.assign(crypto, {
  createCipheriv: (algorithm: string, key: crypto.CipherKey, iv: crypto.BinaryLike | null) =>
    algorithm === "des"
      ? createCipheriv("des-ede3-cbc", desAsTripleDes(key as Uint8Array), iv)
      : createCipheriv(algorithm, key, iv),
  createDecipheriv: (algorithm: string, key: crypto.CipherKey, iv: crypto.BinaryLike | null) =>
    algorithm === "des"
      ? createDecipheriv("des-ede3-cbc", desAsTripleDes(key as Uint8Array), iv)
      : createDecipheriv(algorithm, key, iv),
});

/** A running s3rver with one empty bucket. */
export interface S3rverHandle {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** The bucket created at start. */
  readonly bucket: string;
  /** s3rver's fixed access key id. */
  readonly accessKeyId: string;
  /** s3rver's fixed secret key. */
  readonly secretAccessKey: string;
  /** Stop the server and delete its directory. */
  close(): Promise<void>;
}

/**
 * Start s3rver with bucket `bucket`.
 *
 * @param bucket Name of the bucket to create.
 * @returns The running server.
 */
export async function startS3rver(bucket = "artifacts"): Promise<S3rverHandle> {
  const directory = await mkdtemp(join(tmpdir(), "s3rver-"));
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
