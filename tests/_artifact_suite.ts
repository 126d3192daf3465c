/**
 * The behaviour every `ArtifactStorageBackend` must show, run against each backend by its own
 * test file (filesystem, s3rver, and `S3_ENDPOINT_URL` when set).
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { ArtifactStorageBackend } from "../src/artifact_store.ts";
import { ArtifactNotFound, InvalidArtifactKey, ValidationError } from "../src/errors.ts";

/** How to run the suite on one backend. */
export interface ArtifactSuiteOptions {
  /** Every key the suite writes starts with it (unique per run, ends with "/"). */
  readonly prefix: string;
  /** URI scheme the backend reports (`"file:"`, `"s3:"`). */
  readonly uriScheme: string;
  /** Names of the store's own temp files or staging objects present now. */
  leftovers(): Promise<string[]>;
}

const MiB = 1024 * 1024;
const text = (value: string) => new TextEncoder().encode(value);
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Keys every backend refuses, with what is wrong with them. */
export const INVALID_KEYS: ReadonlyArray<[string, string]> = [
  ["", "empty"],
  ["/etc/passwd", "absolute"],
  ["a/../../b", "a .. segment"],
  ["..", "only .."],
  ["a/./b", "a . segment"],
  ["a//b", "an empty segment"],
  ["a/", "a trailing slash"],
  ["a\\b", "a backslash"],
  ["a\0b", "NUL"],
  ["a\nb", "a control character"],
  ["a\ud800b", "a lone surrogate"],
  ["k".repeat(1025), "more than 1024 bytes"],
  [`a/${"é".repeat(121)}`, "a segment over 240 bytes"],
  [".plm-meta.x.json", "a reserved segment"],
  ["a/.plm-staging/x", "a reserved inner segment"],
];

/** A stream of `size` bytes made on the fly, and the SHA-256 of what it produced. */
function generated(size: number, failAfter?: number) {
  const hash = createHash("sha256");
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (failAfter !== undefined && sent >= failAfter) {
        controller.error(new Error("producer died"));
        return;
      }
      if (sent >= size) return controller.close();
      const chunk = new Uint8Array(Math.min(256 * 1024, size - sent));
      for (let i = 0; i < chunk.length; i += 4096) chunk[i] = (sent + i) % 251;
      hash.update(chunk);
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  }, { highWaterMark: 0 });
  return { stream, sha256: () => hash.digest("hex") };
}

async function streamDigest(stream: ReadableStream<Uint8Array>) {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest("hex"), size };
}

async function keys(store: ArtifactStorageBackend, prefix: string): Promise<string[]> {
  return (await Array.fromAsync(store.list(prefix))).map((entry) => entry.key);
}

/**
 * Run the conformance suite as steps of `t`, then delete what it wrote.
 *
 * @param t The test context.
 * @param store The backend under test.
 * @param options Namespace and leftovers probe.
 */
export async function artifactSuite(
  t: Deno.TestContext,
  store: ArtifactStorageBackend,
  options: ArtifactSuiteOptions,
): Promise<void> {
  const p = options.prefix;

  await t.step("put() then getBytes() round-trips bytes; uri, sha256, size", async () => {
    const bytes = text("hello artifacts");
    const stored = await store.put(`${p}bytes.txt`, bytes, { contentType: "text/plain" });
    assert.equal(stored.key, `${p}bytes.txt`);
    assert.equal(stored.sha256, sha256(bytes));
    assert.equal(stored.size, bytes.length);
    assert.equal(new URL(stored.uri).protocol, options.uriScheme);
    assert.ok(stored.uri.endsWith(`/${p}bytes.txt`), stored.uri);
    assert.deepEqual(await store.getBytes(`${p}bytes.txt`), bytes);
  });

  await t.step("put() of a stream, get() streams it back with its info", async () => {
    const chunks = ["one ", "two ", "three"].map(text);
    const stream = ReadableStream.from(chunks);
    const stored = await store.put(`${p}stream.txt`, stream, { contentType: "text/plain" });
    const whole = text("one two three");
    assert.deepEqual([stored.sha256, stored.size], [sha256(whole), whole.length]);
    const content = await store.get(`${p}stream.txt`);
    assert.deepEqual([content.sha256, content.size], [stored.sha256, stored.size]);
    assert.equal(content.contentType, "text/plain");
    assert.equal(
      new TextDecoder().decode(await new Response(content.body).bytes()),
      "one two three",
    );
  });

  await t.step("head() round-trips content type, retention, sha256 and size", async () => {
    const retentionUntil = new Date("2031-12-31T23:59:59.000Z");
    const bytes = text("%PDF-1.7");
    const before = Date.now();
    await store.put(`${p}report.pdf`, bytes, {
      contentType: "application/pdf; version=1.7",
      retentionUntil,
    });
    const info = await store.head(`${p}report.pdf`);
    assert.equal(info.contentType, "application/pdf; version=1.7");
    assert.deepEqual(info.retentionUntil, retentionUntil);
    assert.equal(info.sha256, sha256(bytes));
    assert.equal(info.size, bytes.length);
    assert.ok(Math.abs(info.lastModified.getTime() - before) < 60_000, "lastModified is now");
    assert.equal((await store.head(`${p}bytes.txt`)).retentionUntil, undefined);
  });

  await t.step("put() to an existing key replaces bytes and metadata", async () => {
    await store.put(`${p}replace.json`, text("{}"), { contentType: "application/json" });
    await store.put(`${p}replace.json`, text("[1]"), { contentType: "text/json" });
    assert.equal(new TextDecoder().decode(await store.getBytes(`${p}replace.json`)), "[1]");
    const info = await store.head(`${p}replace.json`);
    assert.deepEqual([info.contentType, info.sha256], ["text/json", sha256(text("[1]"))]);
  });

  await t.step("exists() tells a stored key from a missing one", async () => {
    assert.equal(await store.exists(`${p}bytes.txt`), true);
    assert.equal(await store.exists(`${p}missing.txt`), false);
    assert.equal(await store.exists(`${p}bytes.txt/deeper`), false);
  });

  await t.step("get(), getBytes(), head() of a missing key throw ArtifactNotFound", async () => {
    const reads = [() => store.get(`${p}missing.txt`), () => store.getBytes(`${p}missing.txt`)];
    for (const read of [...reads, () => store.head(`${p}missing.txt`)]) {
      await assert.rejects(read(), (error) => {
        assert.ok(error instanceof ArtifactNotFound);
        assert.equal(error.code, "ARTIFACT_NOT_FOUND");
        assert.equal(error.key, `${p}missing.txt`);
        return true;
      });
    }
  });

  await t.step("delete() removes an artifact and ignores a missing one", async () => {
    await store.put(`${p}gone.txt`, text("x"), { contentType: "text/plain" });
    await store.delete(`${p}gone.txt`);
    assert.equal(await store.exists(`${p}gone.txt`), false);
    await assert.rejects(store.getBytes(`${p}gone.txt`), ArtifactNotFound);
    assert.ok(!(await keys(store, p)).includes(`${p}gone.txt`));
    await store.delete(`${p}gone.txt`);
    await store.delete(`${p}never/was.txt`);
  });

  await t.step("list() matches a plain prefix, in byte order, with sizes", async () => {
    const names = ["b/c", "b-d", "ba", "a", "b/e/f"];
    for (const name of names) {
      await store.put(`${p}list/${name}`, text(name), { contentType: "text/plain" });
    }
    // "-" (0x2d) < "/" (0x2f) < "a" (0x61): a directory walk would not give this order.
    const listed = await keys(store, `${p}list/b`);
    assert.deepEqual(listed, [
      `${p}list/b-d`,
      `${p}list/b/c`,
      `${p}list/b/e/f`,
      `${p}list/ba`,
    ]);
    assert.deepEqual(await keys(store, `${p}list/b/`), [`${p}list/b/c`, `${p}list/b/e/f`]);
    assert.deepEqual(await keys(store, `${p}list/zzz`), []);
    const [entry] = await Array.fromAsync(store.list(`${p}list/b/e`));
    assert.deepEqual([entry.key, entry.size], [`${p}list/b/e/f`, 5]);
    assert.ok(entry.lastModified instanceof Date);
  });

  await t.step(
    "list() returns every key of a prefix holding 1,050 (more than one S3 page)",
    async () => {
      const many = Array.from({ length: 1050 }, (_, i) => `${p}many/${String(i).padStart(4, "0")}`);
      for (let i = 0; i < many.length; i += 50) {
        await Promise.all(
          many.slice(i, i + 50).map((key) =>
            store.put(key, text(key), { contentType: "text/plain" })
          ),
        );
      }
      assert.deepEqual(await keys(store, `${p}many/`), many);
    },
  );

  await t.step("every method refuses each invalid key with InvalidArtifactKey", async () => {
    const body = text("x");
    for (const [key, why] of INVALID_KEYS) {
      const calls = [
        () => store.put(key, body, { contentType: "text/plain" }),
        () => store.get(key),
        () => store.getBytes(key),
        () => store.head(key),
        () => store.exists(key),
        () => store.delete(key),
      ];
      for (const call of calls) {
        await assert.rejects(call(), (error) => {
          assert.ok(error instanceof InvalidArtifactKey, `${why}: ${error}`);
          assert.equal(error.code, "INVALID_ARTIFACT_KEY");
          return true;
        }, why);
      }
    }
    for (const prefix of ["/abs", "a//", "a\\", "a\0", ".plm-", "x/.plm-staging/"]) {
      await assert.rejects(Array.fromAsync(store.list(prefix)), InvalidArtifactKey, prefix);
    }
  });

  await t.step(
    "put() refuses bad options and bodies with ValidationError, storing nothing",
    async () => {
      const key = `${p}invalid-put.bin`;
      const bad: Array<[unknown, unknown, string]> = [
        [text("x"), { contentType: "" }, "options.contentType"],
        [text("x"), { contentType: "pdf" }, "options.contentType"],
        [text("x"), { contentType: "text/plain\r\nx-evil: 1" }, "options.contentType"],
        [
          text("x"),
          { contentType: "text/plain", retentionUntil: new Date(NaN) },
          "options.retentionUntil",
        ],
        [
          text("x"),
          { contentType: "text/plain", retentionUntil: "2030-01-01" },
          "options.retentionUntil",
        ],
        [text("x"), { contentType: "text/plain", content_type: "x/y" }, "options.content_type"],
        [text("x"), undefined, "options"],
        ["a string", { contentType: "text/plain" }, "body"],
      ];
      for (const [body, putOptions, path] of bad) {
        await assert.rejects(
          // deno-lint-ignore no-explicit-any
          store.put(key, body as any, putOptions as any),
          (error) => {
            assert.ok(error instanceof ValidationError, String(error));
            assert.ok(
              error.issues.some((issue) => issue.path === path),
              JSON.stringify(error.issues),
            );
            return true;
          },
        );
      }
      const strings = ReadableStream.from(["not bytes"]) as unknown as ReadableStream<Uint8Array>;
      await assert.rejects(store.put(key, strings, { contentType: "text/plain" }), ValidationError);
      assert.equal(await store.exists(key), false);
    },
  );

  await t.step(
    "put() stores a 12 MiB byte array (over the 5 MiB multipart part size)",
    async () => {
      const bytes = new Uint8Array(12 * MiB);
      for (let i = 0; i < bytes.length; i += 1000) bytes[i] = i % 253;
      const stored = await store.put(`${p}large.bin`, bytes, {
        contentType: "application/octet-stream",
      });
      assert.deepEqual([stored.sha256, stored.size], [sha256(bytes), bytes.length]);
      const back = await store.getBytes(`${p}large.bin`);
      assert.equal(sha256(back), sha256(bytes));
    },
  );

  await t.step("put() streams a 64 MiB body made on the fly, checked by sha256", async () => {
    const body = generated(64 * MiB);
    const stored = await store.put(`${p}huge.bin`, body.stream, {
      contentType: "application/octet-stream",
    });
    const expected = body.sha256();
    assert.deepEqual([stored.sha256, stored.size], [expected, 64 * MiB]);
    const content = await store.get(`${p}huge.bin`);
    assert.equal(content.sha256, expected);
    assert.deepEqual(await streamDigest(content.body), { sha256: expected, size: 64 * MiB });
  });

  await t.step("put() whose body stream fails midway leaves no artifact", async () => {
    const leftoversBefore = await options.leftovers();
    const key = `${p}killed.bin`;
    const body = generated(64 * MiB, 6 * MiB);
    await assert.rejects(
      store.put(key, body.stream, { contentType: "application/octet-stream" }),
      { message: "producer died" },
    );
    await assert.rejects(store.get(key), ArtifactNotFound);
    assert.equal(await store.exists(key), false);
    assert.ok(!(await keys(store, p)).includes(key));
    assert.deepEqual(await options.leftovers(), leftoversBefore);
    // A failed overwrite keeps the previous artifact.
    await store.put(key, text("v1"), { contentType: "text/plain" });
    const again = generated(64 * MiB, 6 * MiB);
    await assert.rejects(store.put(key, again.stream, { contentType: "text/plain" }));
    assert.equal(new TextDecoder().decode(await store.getBytes(key)), "v1");
    assert.equal((await store.head(key)).sha256, sha256(text("v1")));
  });

  const written = await keys(store, p);
  for (let i = 0; i < written.length; i += 50) {
    await Promise.all(written.slice(i, i + 50).map((key) => store.delete(key)));
  }
  assert.deepEqual(await keys(store, p), []);
}
