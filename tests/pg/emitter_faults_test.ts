import assert from "node:assert/strict";
import { createServer, type Server, Socket } from "node:net";
import { connect } from "../../src/db.ts";
import { EmitterUnavailable } from "../../src/errors.ts";
import { idempotencyKeyToString } from "../../src/idempotency.ts";
import { PostgresKernelEmitter } from "../../src/postgres_kernel_emitter.ts";
import { countRows, emitterFor, serverTest } from "./_emitter_db.ts";
import {
  closedPort,
  connectorCall,
  governance,
  llmCall,
  newTraceId,
  NO_COST,
  telemetry,
} from "../_helpers.ts";

function isUnavailable(error: unknown): boolean {
  assert.ok(error instanceof EmitterUnavailable, `expected EmitterUnavailable, got ${error}`);
  assert.equal(error.code, "EMITTER_UNAVAILABLE");
  assert.ok(error.cause !== undefined);
  return true;
}

Deno.test("PostgresKernelEmitter throws EmitterUnavailable within 5 s when the server is unreachable", async () => {
  const tenantId = crypto.randomUUID();
  const traceId = newTraceId();
  const host = `127.0.0.1:${await closedPort()}`;
  const sql = connect(`postgres://postgres@${host}/postgres`, { max: 1, connectTimeout: 2 });
  const emitter = new PostgresKernelEmitter(sql, { tenantId });
  const emits = [
    () => emitter.emitTelemetry(telemetry(tenantId, { traceId, spanId: "s1" })),
    () => emitter.emitGovernance(governance(tenantId, { traceId, spanId: "s2" })),
    () => emitter.recordLlmCall(llmCall(tenantId, { traceId, spanId: "s3" })),
    () =>
      emitter.recordConnectorCall(
        connectorCall(tenantId, { traceId, spanId: "s4", call: NO_COST }),
      ),
    () =>
      emitter.emitMany([{
        kind: "telemetry",
        args: telemetry(tenantId, { traceId, spanId: "s5" }),
      }]),
  ];
  for (const emit of emits) {
    const started = performance.now();
    await assert.rejects(emit(), isUnavailable);
    const seconds = (performance.now() - started) / 1000;
    assert.ok(seconds < 5, `an emit to ${host} took ${seconds.toFixed(1)} s`);
  }
  await sql.end();
});

serverTest(
  "PostgresKernelEmitter: a backend terminated mid-statement writes nothing; " +
    "the same emitter goes on (PG_DSN only: PGlite has one backend)",
  async (db, tenantId, t) => {
    const traceId = newTraceId();
    // Its own client: postgres.js 3.4.9's end() can hang after a connection error
    // (porsager/postgres#1097), so it is ended with a timeout.
    const writer = connect(db.writerDsn, { max: 2 });
    const emitter = emitterFor(db, tenantId, writer);
    const blocker = telemetry(tenantId, { traceId, spanId: "blocker" });
    const batch = [
      { kind: "telemetry", args: telemetry(tenantId, { traceId, spanId: "b1" }) },
      { kind: "telemetry", args: blocker },
      { kind: "llm_call", args: llmCall(tenantId, { traceId, spanId: "b2" }) },
    ] as const;

    for (
      const [name, emit] of [
        ["emitTelemetry()", () => emitter.emitTelemetry(blocker)],
        ["emitMany()", () => emitter.emitMany(batch)],
      ] as const
    ) {
      await t.step(`${name} blocked, then terminated`, async () => {
        // An uncommitted row with the same key makes the emit wait inside its statement.
        const holder = await db.sql.reserve();
        try {
          await holder`begin`;
          await holder`
          insert into telemetry_events (tenant_id, trace_id, span_id, event_kind, event_type,
            capability, idempotency_key, content_hash)
          values (${tenantId}, ${traceId}, 'blocker', 'telemetry', 'skill.run.started',
            'read.bom', ${idempotencyKeyToString(blocker.idempotency_key)}, 'h')`;
          const pending = emit();
          // Terminate the backend the emit waits in, again for the emitter's one retry, until
          // the emit gives up (it cannot finish otherwise while the row is held).
          let settled = false;
          pending.catch(() => {}).finally(() => settled = true);
          let terminated = 0;
          while (!settled) {
            const killed = await db.sql`
            select pg_terminate_backend(pid) from pg_stat_activity
            where usename = ${db.writerRole} and wait_event_type = 'Lock'`;
            terminated += killed.length;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          assert.ok(terminated >= 1);
          await assert.rejects(pending, isUnavailable);
        } finally {
          await holder`rollback`;
          holder.release();
        }
        assert.equal(await countRows(db, "telemetry_events", tenantId), 0);
        assert.equal(await countRows(db, "llm_calls", tenantId), 0);
      });
    }

    await t.step("the same emitter writes again", async () => {
      await emitter.emitTelemetry(blocker);
      assert.deepEqual(await emitter.emitMany(batch), ["inserted", "replayed", "inserted"]);
      assert.equal(await countRows(db, "telemetry_events", tenantId), 2);
      assert.equal(await countRows(db, "llm_calls", tenantId), 1);
    });
    await writer.end({ timeout: 1 });
  },
);

serverTest(
  "PostgresKernelEmitter works again when the server comes back, without a new " +
    "emitter (PG_DSN only: PGlite serves one connection at a time)",
  async (db, tenantId) => {
    const traceId = newTraceId();
    const target = new URL(db.writerDsn);
    const proxy = await startProxy(Number(target.port || 5432));
    target.port = String(proxy.port);
    const sql = connect(target.href, { max: 2, connectTimeout: 2 });
    try {
      const emitter = emitterFor(db, tenantId, sql);
      await emitter.emitTelemetry(telemetry(tenantId, { traceId, spanId: "s1" }));
      await proxy.down();
      await assert.rejects(
        emitter.emitTelemetry(telemetry(tenantId, { traceId, spanId: "s2" })),
        isUnavailable,
      );
      await assert.rejects(
        emitter.recordLlmCall(llmCall(tenantId, { traceId, spanId: "s3" })),
        isUnavailable,
      );
      await proxy.up();
      await emitter.emitTelemetry(telemetry(tenantId, { traceId, spanId: "s2" }));
      await emitter.recordLlmCall(llmCall(tenantId, { traceId, spanId: "s3" }));
      assert.equal(await countRows(db, "telemetry_events", tenantId), 2);
      assert.equal(await countRows(db, "llm_calls", tenantId), 1);
    } finally {
      await sql.end({ timeout: 1 });
      await proxy.down();
    }
  },
);

/** A TCP forwarder on 127.0.0.1 to `targetPort`; `down()` drops every connection. */
async function startProxy(targetPort: number) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const up = async () => {
    server = createServer((client) => {
      const upstream = new Socket().connect(targetPort, "127.0.0.1");
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket)).on("error", () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server!.listen(port, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
  };
  const down = async () => {
    for (const socket of sockets) socket.destroy();
    if (server?.listening) await new Promise((resolve) => server!.close(resolve));
  };
  await up();
  return { port, up, down };
}
