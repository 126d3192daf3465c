import assert from "node:assert/strict";
import process from "node:process";
import {
  HeadObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import {
  ArtifactNotFound,
  ArtifactStoreUnavailable,
  InvalidArtifactKey,
} from "../../src/errors.ts";
import { ObjectStoreBackend } from "../../src/object_store_backend.ts";
import { artifactSuite } from "../_artifact_suite.ts";
import { closedPort } from "../_helpers.ts";
import { type S3rverHandle, startS3rver } from "../_s3rver.ts";

const text = (value: string) => new TextEncoder().encode(value);
const plain = { contentType: "text/plain" };

/** A raw client on the same store, to look behind the backend. */
function rawClient(server: S3rverHandle): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
}

/** Keys of the backend's staging objects in `bucket`. */
async function stagingKeys(client: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  const pages = paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: ".plm-staging/" });
  for await (const page of pages) keys.push(...(page.Contents ?? []).map((o) => o.Key!));
  return keys;
}

async function withS3rver(fn: (server: S3rverHandle) => Promise<void>): Promise<void> {
  const server = await startS3rver();
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

/** Run `fn` with a fresh s3rver, a backend on its bucket and a raw client; close all after. */
async function withStore(
  fn: (server: S3rverHandle, store: ObjectStoreBackend, client: S3Client) => Promise<void>,
): Promise<void> {
  await withS3rver(async (server) => {
    const store = backendOn(server);
    const client = rawClient(server);
    try {
      await fn(server, store, client);
    } finally {
      store.close();
      client.destroy();
    }
  });
}

/** A backend on a loopback port nobody listens on. */
async function storeOnClosedPort(): Promise<ObjectStoreBackend> {
  return new ObjectStoreBackend({
    endpoint: `http://127.0.0.1:${await closedPort()}`,
    bucket: "artifacts",
    accessKeyId: "key",
    secretAccessKey: "secret",
  });
}

function backendOn(server: S3rverHandle, bucket = server.bucket): ObjectStoreBackend {
  return new ObjectStoreBackend({
    endpoint: server.endpoint,
    bucket,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
  });
}

Deno.test("ObjectStoreBackend conformance on s3rver", async (t) => {
  await withStore(async (server, store, client) => {
    await artifactSuite(t, store, {
      prefix: "suite/",
      uriScheme: "s3:",
      leftovers: () => stagingKeys(client, server.bucket),
    });
    assert.deepEqual(await stagingKeys(client, server.bucket), []);
  });
});

Deno.test({
  name: "ObjectStoreBackend conformance on S3_ENDPOINT_URL",
  ignore: !Deno.env.get("S3_ENDPOINT_URL"),
  async fn(t) {
    const store = new ObjectStoreBackend();
    const client = new S3Client({
      endpoint: Deno.env.get("S3_ENDPOINT_URL"),
      region: Deno.env.get("S3_REGION") ?? "us-east-1",
      forcePathStyle: true,
      credentials: {
        accessKeyId: Deno.env.get("S3_ACCESS_KEY")!,
        secretAccessKey: Deno.env.get("S3_SECRET_KEY")!,
      },
    });
    try {
      await artifactSuite(t, store, {
        prefix: `plm-shared-test-${crypto.randomUUID()}/`,
        uriScheme: "s3:",
        leftovers: () => stagingKeys(client, store.bucket),
      });
    } finally {
      store.close();
      client.destroy();
    }
  },
});

Deno.test("ObjectStoreBackend put() keeps sha256 and retention as object metadata", async () => {
  await withStore(async (server, store, client) => {
    const retentionUntil = new Date("2030-01-01T00:00:00.000Z");
    for (
      const [key, body] of [["bytes.txt", text("abc")], ["stream.txt", text("abc")]] as const
    ) {
      const source = key === "stream.txt" ? ReadableStream.from([body]) : body;
      const stored = await store.put(key, source, { contentType: "text/plain", retentionUntil });
      assert.equal(stored.uri, `s3://${server.bucket}/${key}`);
      const head = await client.send(new HeadObjectCommand({ Bucket: server.bucket, Key: key }));
      assert.deepEqual(head.Metadata, {
        sha256: stored.sha256,
        "retention-until": "2030-01-01T00:00:00.000Z",
      });
      assert.equal(head.ContentType, "text/plain");
    }
    assert.deepEqual(await stagingKeys(client, server.bucket), []);
  });
});

Deno.test("ObjectStoreBackend treats objects written by other tools as missing", async () => {
  await withStore(async (server, store, client) => {
    await client.send(new PutObjectCommand({ Bucket: server.bucket, Key: "foreign", Body: "x" }));
    await assert.rejects(store.head("foreign"), ArtifactNotFound);
    await assert.rejects(store.get("foreign"), ArtifactNotFound);
    assert.equal(await store.exists("foreign"), false);
  });
});

Deno.test("ObjectStoreBackend maps store failures to ArtifactStoreUnavailable", async (t) => {
  await withS3rver(async (server) => {
    await t.step("a missing bucket", async () => {
      const store = backendOn(server, "no-such-bucket");
      try {
        await assert.rejects(store.put("a.txt", text("a"), plain), ArtifactStoreUnavailable);
        await assert.rejects(Array.fromAsync(store.list()), ArtifactStoreUnavailable);
      } finally {
        store.close();
      }
    });

    // s3rver checks the access key id but not V4 signatures: an unknown key id it refuses.
    await t.step("unknown credentials", async () => {
      const store = new ObjectStoreBackend({
        endpoint: server.endpoint,
        bucket: server.bucket,
        accessKeyId: "UNKNOWN",
        secretAccessKey: "some-secret",
      });
      try {
        await assert.rejects(store.put("a.txt", text("a"), plain), (error) => {
          assert.ok(error instanceof ArtifactStoreUnavailable);
          assert.equal(error.code, "ARTIFACT_STORE_UNAVAILABLE");
          assert.ok(!error.message.includes("some-secret"));
          assert.equal((error.cause as Error).name, "InvalidAccessKeyId");
          return true;
        });
        await assert.rejects(store.get("a.txt"), ArtifactStoreUnavailable);
      } finally {
        store.close();
      }
    });
  });

  await t.step("an endpoint nobody listens on", async () => {
    const store = await storeOnClosedPort();
    try {
      await assert.rejects(store.head("a.txt"), (error) => {
        assert.ok(error instanceof ArtifactStoreUnavailable);
        assert.ok(error.cause instanceof Error);
        return true;
      });
      await assert.rejects(store.delete("a.txt"), ArtifactStoreUnavailable);
    } finally {
      store.close();
    }
  });
});

Deno.test("ObjectStoreBackend() takes what options omit from S3_* variables", async (t) => {
  await withS3rver(async (server) => {
    const names = ["S3_ENDPOINT_URL", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_BUCKET"] as const;
    const saved = names.map((name) => [name, process.env[name]] as const);
    try {
      Object.assign(process.env, {
        S3_ENDPOINT_URL: server.endpoint,
        S3_ACCESS_KEY: server.accessKeyId,
        S3_SECRET_KEY: server.secretAccessKey,
        S3_BUCKET: server.bucket,
      });
      await t.step("endpoint, credentials and bucket", async () => {
        const store = new ObjectStoreBackend();
        try {
          assert.equal(store.bucket, server.bucket);
          await store.put("env.txt", text("env"), plain);
          assert.equal(new TextDecoder().decode(await store.getBytes("env.txt")), "env");
        } finally {
          store.close();
        }
      });
      await t.step("refuses a missing bucket or half the credentials", () => {
        delete process.env.S3_BUCKET;
        assert.throws(() => new ObjectStoreBackend(), TypeError);
        assert.throws(
          () => new ObjectStoreBackend({ bucket: "b", secretAccessKey: "" }),
          TypeError,
        );
      });
    } finally {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});

Deno.test("ObjectStoreBackend checks keys before sending anything", async () => {
  const store = await storeOnClosedPort();
  try {
    await assert.rejects(store.put("../x", text("x"), plain), InvalidArtifactKey);
    await assert.rejects(Array.fromAsync(store.list(".plm-staging/")), InvalidArtifactKey);
  } finally {
    store.close();
  }
});
