/**
 * Internal: what every artifact backend shares: checking a `put`'s body and options, hashing
 * the bytes while they stream through, telling the body's own failures from the store's, and
 * the small reads (`getBytes`, `exists`) built on `get` and `head`.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { parseContract } from "./_contract_schema_parse.ts";
import type { PutArtifactOptions } from "./artifact_store.ts";
import { ArtifactNotFound, ValidationError } from "./errors.ts";

/** RFC 9110 media type: `type/subtype`, then optional parameters without control characters. */
const MEDIA_TYPE =
  // deno-lint-ignore no-control-regex
  /^[-!#$%&'*+.^_`|~0-9A-Za-z]+\/[-!#$%&'*+.^_`|~0-9A-Za-z]+([ \t]*;[^\0-\x1f\x7f]*)?$/;

const PutArguments = z.object({
  body: z.union([z.instanceof(Uint8Array), z.instanceof(ReadableStream)], {
    error: "expected a Uint8Array or a ReadableStream<Uint8Array>",
  }),
  options: z.strictObject({
    contentType: z.string().regex(MEDIA_TYPE, 'expected a media type like "application/pdf"'),
    retentionUntil: z.date().optional(),
  }),
});

/** Contract name used in `ValidationError`s of `put`. */
const CONTRACT = "artifact put";

/** SHA-256 and size of a body. */
export interface BodyDigest {
  /** Lowercase hex SHA-256. */
  readonly sha256: string;
  /** Size in bytes. */
  readonly size: number;
}

/**
 * Check the body and options of a `put`.
 *
 * @param body The body as the caller gave it.
 * @param options The options as the caller gave them.
 * @returns The options, checked.
 * @throws {ValidationError} Naming every wrong field (`"body"`, `"options.contentType"`).
 */
export function checkPutArguments(
  body: unknown,
  options: unknown,
): PutArtifactOptions {
  return parseContract(PutArguments, CONTRACT, { body, options }).options;
}

/**
 * SHA-256 and size of bytes already in memory.
 *
 * @param bytes The body.
 * @returns Its digest.
 */
export function digestBytes(bytes: Uint8Array): BodyDigest {
  return { sha256: createHash("sha256").update(bytes).digest("hex"), size: bytes.byteLength };
}

/**
 * `exists` from `head`: whether the lookup found the artifact.
 *
 * @param lookup A pending `head(key)`.
 * @returns `true` when it resolved, `false` when it threw `ArtifactNotFound`.
 * @throws {Error} Any other error of the lookup.
 */
export async function foundBy(lookup: Promise<unknown>): Promise<boolean> {
  try {
    await lookup;
    return true;
  } catch (error) {
    if (error instanceof ArtifactNotFound) return false;
    throw error;
  }
}

/**
 * Read a whole stream into memory.
 *
 * @param stream The stream.
 * @returns All its bytes.
 */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * A stream that passes a body through unchanged while hashing it, and remembers whether the
 * body itself failed, so a backend can rethrow the caller's error rather than blame the store.
 */
export class DigestingStream {
  /** The body's bytes, to hand to the writer. */
  readonly readable: ReadableStream<Uint8Array>;
  #hash = createHash("sha256");
  #size = 0;
  #failure: { error: unknown } | undefined;
  #reader: ReadableStreamDefaultReader<Uint8Array>;

  /** @param body The caller's body; a `Uint8Array` becomes a one-chunk stream. */
  constructor(body: Uint8Array | ReadableStream<Uint8Array>) {
    const source = body instanceof Uint8Array ? oneChunk(body) : body;
    const reader = source.getReader();
    this.#reader = reader;
    this.readable = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
          if (!chunk.done && !(chunk.value instanceof Uint8Array)) {
            const error = new ValidationError(CONTRACT, [
              { path: "body", message: "stream chunks must be Uint8Array" },
            ]);
            await reader.cancel(error);
            throw error;
          }
        } catch (error) {
          this.#failure = { error };
          controller.error(error);
          return;
        }
        if (chunk.done) {
          controller.close();
          return;
        }
        this.#hash.update(chunk.value);
        this.#size += chunk.value.byteLength;
        controller.enqueue(chunk.value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
  }

  /** Set when the body stream errored (or sent a chunk that is not a `Uint8Array`). */
  get failure(): { error: unknown } | undefined {
    return this.#failure;
  }

  /**
   * Tell the body's producer that the write failed, even while the writer still holds
   * {@link DigestingStream.readable}.
   *
   * @param reason Why the write failed.
   */
  async cancel(reason: unknown): Promise<void> {
    await this.#reader.cancel(reason).catch(() => {});
  }

  /**
   * The digest of everything read; call it once, after the stream ended.
   *
   * @returns SHA-256 and size.
   */
  digest(): BodyDigest {
    return { sha256: this.#hash.digest("hex"), size: this.#size };
  }
}

function oneChunk(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}
