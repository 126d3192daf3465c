import assert from "node:assert/strict";
import { connect } from "../../src/db.ts";
import { IdempotencyConflict, UnknownTenant, ValidationError } from "../../src/errors.ts";
import { computeContentHash } from "../../src/idempotency.ts";
import { openTestDatabase } from "../_pg.ts";
import { addTenant, countRows, emitterFor, serverTest } from "./_emitter_db.ts";
import { connectorCall, governance, llmCall, newTraceId, telemetry } from "../_helpers.ts";

/** Make PostgreSQL refuse telemetry rows of span "refused" (a rule validation cannot see). */
async function refuseSpan(db: { sql: ReturnType<typeof connect> }): Promise<void> {
  await db.sql`
    alter table telemetry_events add constraint test_refused check (span_id <> 'refused')`;
}

serverTest(
  "PostgresKernelEmitter group commit: 64 concurrent callers on a pool of 4 each get " +
    "their own outcome; one event PostgreSQL refuses fails only its caller (PG_DSN only)",
  async (db, tenantId) => {
    await refuseSpan(db);
    const traceId = newTraceId();
    const emitter = emitterFor(db, tenantId);
    const stored = telemetry(tenantId, { traceId, spanId: "stored" });
    await emitter.emitTelemetry(stored);
    const calls: [expected: string, call: () => Promise<void>][] = [
      ["returns", () => emitter.emitTelemetry(stored)],
      [
        "conflict",
        () =>
          emitter.emitTelemetry(
            telemetry(tenantId, { traceId, spanId: "stored", payload: { a: 2 } }),
          ),
      ],
      ["refused", () => emitter.emitTelemetry(telemetry(tenantId, { traceId, spanId: "refused" }))],
      ["invalid", () => emitter.emitTelemetry({ ...stored, span_id: "" })],
    ];
    for (let i = calls.length; i < 64; i++) {
      const spanId = `s${i}`;
      const kind = i % 4;
      calls.push([
        "returns",
        () =>
          kind === 0
            ? emitter.emitTelemetry(telemetry(tenantId, { traceId, spanId }))
            : kind === 1
            ? emitter.emitGovernance(governance(tenantId, { traceId, spanId }))
            : kind === 2
            ? emitter.recordLlmCall(llmCall(tenantId, { traceId, spanId }))
            : emitter.recordConnectorCall(connectorCall(tenantId, { traceId, spanId })),
      ]);
    }
    const results = await Promise.allSettled(calls.map(([, call]) => call()));
    results.forEach((result, i) => {
      const expected = calls[i][0];
      if (expected === "returns") return assert.equal(result.status, "fulfilled", `call ${i}`);
      assert.equal(result.status, "rejected", `call ${i}`);
      const reason = (result as PromiseRejectedResult).reason;
      if (expected === "conflict") assert.ok(reason instanceof IdempotencyConflict, `${reason}`);
      if (expected === "invalid") assert.ok(reason instanceof ValidationError, `${reason}`);
      if (expected === "refused") assert.equal(reason.code, "23514", `${reason}`);
    });
    // 1 stored before + 30 telemetry/governance of the 60 new ones; the refused one is not there.
    assert.equal(await countRows(db, "telemetry_events", tenantId), 31);
    assert.equal(await countRows(db, "llm_calls", tenantId), 15);
    assert.equal(await countRows(db, "connector_calls", tenantId), 15);
  },
);

Deno.test("PostgresKernelEmitter group commit: the emits made in one tick commit together, in one transaction", async () => {
  await using db = await openTestDatabase();
  const tenantId = await addTenant(db);
  const traceId = newTraceId();
  const emitter = emitterFor(db, tenantId);
  await Promise.all(
    Array.from(
      { length: 64 },
      (_, i) => emitter.emitTelemetry(telemetry(tenantId, { traceId, spanId: `s${i}` })),
    ),
  );
  const [{ rows, transactions }] = await db.sql`
    select count(*)::int as rows, count(distinct xmin::text)::int as transactions
    from telemetry_events where tenant_id = ${tenantId}`;
  assert.deepEqual({ rows, transactions }, { rows: 64, transactions: 1 });
});

Deno.test("PostgresKernelEmitter: an unregistered tenant gets UnknownTenant from every write; nothing is written", async () => {
  await using db = await openTestDatabase();
  const tenantId = crypto.randomUUID();
  const traceId = newTraceId();
  for (const groupCommit of [true, false]) {
    const emitter = emitterFor(db, tenantId, db.writer, { groupCommit });
    const writes = [
      () => emitter.emitTelemetry(telemetry(tenantId, { traceId, spanId: "t" })),
      () => emitter.emitGovernance(governance(tenantId, { traceId, spanId: "g" })),
      () => emitter.recordLlmCall(llmCall(tenantId, { traceId, spanId: "l" })),
      () => emitter.recordConnectorCall(connectorCall(tenantId, { traceId, spanId: "c" })),
      () => emitter.emitMany([{ kind: "telemetry", args: telemetry(tenantId, { traceId }) }]),
    ];
    for (const write of writes) {
      await assert.rejects(write(), (error: unknown) => {
        assert.ok(error instanceof UnknownTenant, `${error}`);
        assert.equal(error.code, "UNKNOWN_TENANT");
        assert.equal(error.tenantId, tenantId);
        return true;
      });
    }
    // Concurrent emits coalesced into one statement all get it too.
    const many = await Promise.allSettled(
      Array.from(
        { length: 8 },
        (_, i) => emitter.emitTelemetry(telemetry(tenantId, { traceId, spanId: `m${i}` })),
      ),
    );
    for (const result of many) {
      assert.ok(result.status === "rejected" && result.reason instanceof UnknownTenant);
    }
  }
  const [{ n }] = await db.sql`
    select (select count(*) from telemetry_events) + (select count(*) from llm_calls)
      + (select count(*) from connector_calls) + (select count(*) from pricing_snapshots) as n`;
  assert.equal(Number(n), 0);
});

Deno.test("PostgresKernelEmitter.emitMany is one transaction: an event PostgreSQL refuses leaves none of the batch written", async () => {
  await using db = await openTestDatabase();
  const tenantId = await addTenant(db);
  await refuseSpan(db);
  const traceId = newTraceId();
  const emitter = emitterFor(db, tenantId);
  await assert.rejects(
    emitter.emitMany([
      { kind: "llm_call", args: llmCall(tenantId, { traceId, spanId: "l1" }) },
      { kind: "connector_call", args: connectorCall(tenantId, { traceId, spanId: "c1" }) },
      { kind: "telemetry", args: telemetry(tenantId, { traceId, spanId: "refused" }) },
    ]),
    { code: "23514" },
  );
  for (const table of ["telemetry_events", "llm_calls", "connector_calls"] as const) {
    assert.equal(await countRows(db, table, tenantId), 0, table);
  }
});

serverTest(
  "PostgresKernelEmitter retries a broken connection on a fresh one with a pool of one " +
    "(PG_DSN only: PGlite has one backend)",
  async (db, tenantId) => {
    const traceId = newTraceId();
    const writer = connect(db.writerDsn, { max: 1 });
    try {
      const emitter = emitterFor(db, tenantId, writer);
      await emitter.emitTelemetry(telemetry(tenantId, { traceId, spanId: "s1" }));
      const [{ n }] = await db.sql`
      select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
      where usename = ${db.writerRole}`;
      assert.equal(n, 1);
      await emitter.emitTelemetry(telemetry(tenantId, { traceId, spanId: "s2" }));
      assert.equal(await countRows(db, "telemetry_events", tenantId), 2);
    } finally {
      await writer.end({ timeout: 1 });
    }
  },
);

Deno.test("PostgresKernelEmitter names tables by schema: a temporary telemetry_events on its connection captures nothing", async () => {
  await using db = await openTestDatabase();
  const tenantId = await addTenant(db);
  const traceId = newTraceId();
  const writer = db.embedded ? db.writer : connect(db.writerDsn, { max: 1 });
  try {
    const temp = await writer.reserve();
    try {
      await temp`create temporary table telemetry_events (like public.telemetry_events)`;
      await temp`alter table telemetry_events add unique (tenant_id, trace_id, span_id, event_type)`;
    } finally {
      temp.release();
    }
    const emitter = emitterFor(db, tenantId, writer);
    await emitter.emitTelemetry(telemetry(tenantId, { traceId, spanId: "s1" }));
    await emitter.emitMany([{ kind: "telemetry", args: telemetry(tenantId, { traceId }) }]);
    // PGlite's one connection is also the counting one: drop the temporary table first.
    if (db.embedded) await writer`drop table pg_temp.telemetry_events`;
    assert.equal(await countRows(db, "telemetry_events", tenantId), 2);
  } finally {
    if (!db.embedded) await writer.end({ timeout: 1 });
  }
});

Deno.test("PostgresKernelEmitter stores what validation accepts exactly: __proto__ keys, deep JSON, 10 decimal places", async () => {
  await using db = await openTestDatabase();
  const tenantId = await addTenant(db);
  const traceId = newTraceId();
  const emitter = emitterFor(db, tenantId);
  const payload = JSON.parse('{"__proto__": {"admin": true}, "a": 1}');
  let deep: Record<string, unknown> = {};
  for (let i = 0; i < 999; i++) deep = { d: deep };
  await emitter.emitTelemetry(telemetry(tenantId, { traceId, spanId: "proto", payload }));
  await emitter.emitTelemetry(telemetry(tenantId, { traceId, spanId: "deep", payload: deep }));
  await emitter.recordLlmCall(llmCall(tenantId, {
    traceId,
    spanId: "cost",
    call: { cost_eur: 0.0000000001 },
  }));
  const rows = await db.sql`
    select span_id, payload::text as payload, content_hash from telemetry_events
    where tenant_id = ${tenantId} order by span_id`;
  for (const row of rows) {
    assert.equal(computeContentHash(JSON.parse(row.payload)), row.content_hash, row.span_id);
  }
  assert.equal(JSON.parse(rows[1].payload).__proto__.admin, true);
  const [{ cost }] = await db.sql`
    select cost_eur::text as cost from llm_calls where tenant_id = ${tenantId}`;
  assert.equal(cost, "0.0000000001");

  const refused = [
    [{ d: deep }, "payload" + ".d".repeat(1000)],
  ] as const;
  for (const [bad, path] of refused) {
    await assert.rejects(
      emitter.emitTelemetry(telemetry(tenantId, { traceId, spanId: "x", payload: bad })),
      (error: unknown) => error instanceof ValidationError && error.issues[0].path === path,
    );
  }
  for (const cost_eur of [1e10, 0.00000000001, 0.12345678901]) {
    await assert.rejects(
      emitter.recordLlmCall(llmCall(tenantId, { traceId, spanId: "c2", call: { cost_eur } })),
      (error: unknown) => error instanceof ValidationError && error.issues[0].path === "cost_eur",
    );
  }
});
