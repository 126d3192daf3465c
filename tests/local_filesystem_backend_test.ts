import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { digestBytes, readAll } from "../src/_artifact_store_body.ts";
import { ArtifactNotFound, ArtifactStoreUnavailable, InvalidArtifactKey } from "../src/errors.ts";
import { LocalFilesystemBackend } from "../src/local_filesystem_backend.ts";
import { artifactSuite } from "./_artifact_suite.ts";

const text = (value: string) => new TextEncoder().encode(value);
const plain = { contentType: "text/plain" };

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "plm-artifacts-"));
  try {
    await fn(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** The store's temp files anywhere under `root`. */
async function tempFiles(root: string): Promise<string[]> {
  const names = await readdir(root, { recursive: true });
  return names.filter((name) => name.split("/").at(-1)!.startsWith(".plm-tmp.")).sort();
}

Deno.test("LocalFilesystemBackend conformance", async (t) => {
  await withRoot(async (root) => {
    await artifactSuite(t, new LocalFilesystemBackend({ root }), {
      prefix: "suite/",
      uriScheme: "file:",
      leftovers: () => tempFiles(root),
    });
    assert.deepEqual(await tempFiles(root), []);
  });
});

Deno.test("LocalFilesystemBackend stores plain files with a hidden sidecar", async () => {
  await withRoot(async (root) => {
    const store = new LocalFilesystemBackend({ root });
    const stored = await store.put("docs/a.txt", text("plain bytes"), plain);
    assert.equal(await readFile(join(root, "docs", "a.txt"), "utf8"), "plain bytes");
    assert.equal(await readFile(fileURLToPath(stored.uri), "utf8"), "plain bytes");
    const names = (await readdir(join(root, "docs"))).sort();
    assert.equal(names.length, 2);
    assert.match(names[0], /^\.plm-meta-\d+\.a\.txt\.json$/);
    assert.equal(names[1], "a.txt");
    assert.deepEqual((await Array.fromAsync(store.list())).map((e) => e.key), ["docs/a.txt"]);
  });
});

Deno.test("LocalFilesystemBackend refuses symlinks that lead out of the root", async (t) => {
  await withRoot(async (root) => {
    const outside = await mkdtemp(join(tmpdir(), "plm-outside-"));
    try {
      const store = new LocalFilesystemBackend({ root });
      await writeFile(join(outside, "secret.txt"), "secret");
      await symlink(outside, join(root, "out"));
      await symlink(join(outside, "secret.txt"), join(root, "secret.txt"));
      await symlink(join(outside, "missing"), join(root, "dangling"));

      await t.step("put() through a directory link writes nothing outside", async () => {
        for (const key of ["out/x.txt", "out/deeper/x.txt", "dangling/x.txt"]) {
          await assert.rejects(store.put(key, text("x"), plain), InvalidArtifactKey, key);
        }
        assert.deepEqual(await readdir(outside), ["secret.txt"]);
      });

      await t.step("reads and delete() through links refuse to leave the root", async () => {
        for (const key of ["secret.txt", "out/secret.txt"]) {
          await assert.rejects(store.get(key), InvalidArtifactKey, key);
          await assert.rejects(store.getBytes(key), InvalidArtifactKey, key);
          await assert.rejects(store.head(key), InvalidArtifactKey, key);
          await assert.rejects(store.exists(key), InvalidArtifactKey, key);
        }
        await assert.rejects(store.delete("out/secret.txt"), InvalidArtifactKey);
        assert.equal(await readFile(join(outside, "secret.txt"), "utf8"), "secret");
      });

      await t.step("list() never follows links", async () => {
        await store.put("in/a.txt", text("a"), plain);
        assert.deepEqual((await Array.fromAsync(store.list())).map((e) => e.key), ["in/a.txt"]);
      });

      await t.step("a link that stays inside the root is followed", async () => {
        await symlink(join(root, "in"), join(root, "alias"));
        assert.equal(new TextDecoder().decode(await store.getBytes("alias/a.txt")), "a");
      });
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});

Deno.test("LocalFilesystemBackend put() refuses keys that clash with files or directories", async () => {
  await withRoot(async (root) => {
    const store = new LocalFilesystemBackend({ root });
    await store.put("a", text("a"), plain);
    await assert.rejects(store.put("a/b", text("b"), plain), InvalidArtifactKey);
    await store.put("d/e", text("e"), plain);
    await assert.rejects(store.put("d", text("d"), plain), InvalidArtifactKey);
    await assert.rejects(store.get("d"), ArtifactNotFound);
    await store.delete("d");
    assert.equal(await store.exists("d/e"), true);
  });
});

Deno.test("LocalFilesystemBackend() needs an existing root", async () => {
  await withRoot(async (root) => {
    assert.throws(() => new LocalFilesystemBackend({ root: "" }), TypeError);
    const store = new LocalFilesystemBackend({ root: join(root, "missing") });
    await assert.rejects(store.put("a.txt", text("a"), plain), (error) => {
      assert.ok(error instanceof ArtifactStoreUnavailable);
      assert.equal(error.code, "ARTIFACT_STORE_UNAVAILABLE");
      return true;
    });
    await assert.rejects(store.head("a.txt"), ArtifactStoreUnavailable);
    await assert.rejects(Array.fromAsync(store.list()), ArtifactStoreUnavailable);
    assert.deepEqual(await readdir(root), []);
  });
});

Deno.test("LocalFilesystemBackend put() in a killed process leaves no visible artifact", async () => {
  await withRoot(async (root) => {
    await mkdir(join(root, "runs"));
    // A child process streams 1 MiB into put(), says so, then waits forever: kill it there.
    const code = `
      import { LocalFilesystemBackend } from ${JSON.stringify(import.meta.resolve("../mod.ts"))};
      const store = new LocalFilesystemBackend({ root: ${JSON.stringify(root)} });
      let sent = false;
      const body = new ReadableStream({
        pull(controller) {
          if (sent) return new Promise(() => console.log("writing"));
          sent = true;
          controller.enqueue(new Uint8Array(1024 * 1024));
        },
      }, { highWaterMark: 0 });
      await store.put("runs/killed.bin", body, { contentType: "application/octet-stream" });
    `;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assert.equal((await reader.read()).value?.trim(), "writing");
    child.kill("SIGKILL");
    await reader.cancel();
    await child.status;

    const store = new LocalFilesystemBackend({ root });
    assert.equal((await tempFiles(root)).length, 1, "the write was under way");
    assert.equal(await store.exists("runs/killed.bin"), false);
    await assert.rejects(store.get("runs/killed.bin"), ArtifactNotFound);
    assert.deepEqual(await Array.fromAsync(store.list()), []);
    await store.put("runs/killed.bin", text("retried"), plain);
    assert.equal(new TextDecoder().decode(await store.getBytes("runs/killed.bin")), "retried");
  });
});

Deno.test("LocalFilesystemBackend never leaves the root while a directory is swapped for a symlink", async () => {
  await withRoot(async (root) => {
    const outside = await mkdtemp(join(tmpdir(), "plm-outside-"));
    try {
      const store = new LocalFilesystemBackend({ root });
      await store.put("d/secret.txt", text("inside"), plain);
      // Bait outside: a file with sidecars of both layouts, so a read that strays succeeds.
      await writeFile(join(outside, "secret.txt"), "outside secret");
      const { ino } = await stat(join(outside, "secret.txt"), { bigint: true });
      const sidecar = JSON.stringify({ v: 1, sha256: "0".repeat(64), contentType: "text/plain" });
      await writeFile(join(outside, `.plm-meta-${ino}.secret.txt.json`), sidecar);
      await writeFile(join(outside, ".plm-meta.secret.txt.json"), sidecar);
      await writeFile(join(outside, "bait.txt"), "bait");
      const baseline = (await readdir(outside)).sort();

      // A separate process swaps root/d for a symlink to `outside` and back, as fast as it can.
      const swapper = new Deno.Command(Deno.execPath(), {
        args: [
          "eval",
          `
          import { renameSync, symlinkSync, unlinkSync } from "node:fs";
          const [d, hidden, target] = ${
            JSON.stringify([join(root, "d"), join(root, "d-hidden"), outside])
          };
          const step = (fn) => { try { fn(); } catch {} };
          for (;;) {
            step(() => renameSync(d, hidden));
            step(() => symlinkSync(target, d));
            step(() => unlinkSync(d));
            step(() => renameSync(hidden, d));
          }`,
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      let operations = 0;
      let strayed: string | undefined;
      try {
        const until = Date.now() + 4000;
        while (Date.now() < until && !strayed) {
          const n = operations++;
          const outcomes = await Promise.allSettled([
            store.put(`d/p-${n}.txt`, text("new"), plain),
            store.getBytes("d/secret.txt"),
            store.head("d/secret.txt"),
            store.delete("d/bait.txt"),
          ]);
          const read = outcomes[1];
          if (read.status === "fulfilled" && new TextDecoder().decode(read.value) !== "inside") {
            strayed = "get() read a file outside the root";
          }
          const head = outcomes[2];
          if (head.status === "fulfilled" && head.value.sha256 === "0".repeat(64)) {
            strayed = "head() read metadata outside the root";
          }
          const names = (await readdir(outside)).sort();
          if (JSON.stringify(names) !== JSON.stringify(baseline)) {
            strayed = `the outside directory changed: ${names.join(", ")}`;
          }
        }
      } finally {
        swapper.kill("SIGKILL");
        await swapper.status;
      }
      assert.equal(strayed, undefined);
      assert.ok(operations > 50, `only ${operations} rounds ran`);
      assert.equal(await readFile(join(outside, "bait.txt"), "utf8"), "bait");
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});

Deno.test("LocalFilesystemBackend overwrites are all-or-nothing: bytes and metadata of one write", async (t) => {
  await withRoot(async (root) => {
    const store = new LocalFilesystemBackend({ root });
    const check = async () => {
      const content = await store.get("k.bin");
      const bytes = new TextDecoder().decode(await readAll(content.body));
      assert.equal(content.contentType, `text/plain; v=${bytes}`, "metadata of another write");
      assert.equal(content.sha256, digestBytes(text(bytes)).sha256);
      assert.equal(content.size, bytes.length);
    };

    await t.step("32 concurrent overwrites of one key, 20 rounds", async () => {
      for (let round = 0; round < 20; round++) {
        await Promise.all(
          Array.from({ length: 32 }, (_, i) => {
            const value = `${round}-${i}`.repeat(1 + (i % 7));
            return store.put("k.bin", text(value), { contentType: `text/plain; v=${value}` });
          }),
        );
        await check();
      }
      const names = await readdir(root);
      assert.equal(names.filter((name) => name.startsWith(".plm-meta")).length, 1, names.join());
      assert.deepEqual(await tempFiles(root), []);
    });

    await t.step("a body that fails midway leaves the previous artifact whole", async () => {
      await store.put("k.bin", text("before"), { contentType: "text/plain; v=before" });
      const failure = new Error("body broke");
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(text("after-"));
          controller.error(failure);
        },
      });
      await assert.rejects(store.put("k.bin", body, plain), (error) => error === failure);
      await check();
      assert.equal(new TextDecoder().decode(await store.getBytes("k.bin")), "before");
      assert.deepEqual(await tempFiles(root), []);
    });
  });
});
