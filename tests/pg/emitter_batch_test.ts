import assert from "node:assert/strict";
import { connect } from "../../src/db.ts";
import { ValidationError } from "../../src/errors.ts";
import type { KernelEvent } from "../../src/kernel_api.ts";
import { PostgresKernelEmitter } from "../../src/postgres_kernel_emitter.ts";
import { openTestDatabase } from "../_pg.ts";
import { addTenant, countRows, emitterFor } from "./_emitter_db.ts";
import { connectorCall, governance, llmCall, newTraceId, NO_COST, telemetry } from "../_helpers.ts";

Deno.test("emitMany() of no events sends no SQL", async () => {
  // Nothing listens on port 1: any SQL would fail with EmitterUnavailable.
  const sql = connect("postgres://postgres@127.0.0.1:1/none", { connectTimeout: 1 });
  const emitter = new PostgresKernelEmitter(sql, { tenantId: crypto.randomUUID() });
  assert.deepEqual(await emitter.emitMany([]), []);
  await sql.end();
});

Deno.test("emitMany() behaviour", async (t) => {
  await using db = await openTestDatabase();
  await t.step("reports inserted, replayed and conflict per event, across tables", async () => {
    const tenantId = await addTenant(db);
    const emitter = emitterFor(db, tenantId);
    const traceId = newTraceId();
    const stored = telemetry(tenantId, {
      traceId,
      spanId: "stored",
      payload: { v: 1 },
    });
    const storedCall = llmCall(tenantId, { traceId, spanId: "stored-call" });
    await emitter.emitTelemetry(stored);
    await emitter.recordLlmCall(storedCall);
    const fresh = telemetry(tenantId, { traceId, spanId: "fresh", payload: { v: 1 } });

    const outcomes = await emitter.emitMany([
      { kind: "telemetry", args: stored },
      {
        kind: "telemetry",
        args: telemetry(tenantId, { traceId, spanId: "stored", payload: { v: 2 } }),
      },
      { kind: "telemetry", args: fresh },
      { kind: "telemetry", args: fresh },
      {
        kind: "telemetry",
        args: telemetry(tenantId, { traceId, spanId: "fresh", payload: { v: 2 } }),
      },
      { kind: "governance", args: governance(tenantId, { traceId, spanId: "gov" }) },
      { kind: "llm_call", args: storedCall },
      { kind: "llm_call", args: llmCall(tenantId, { traceId, spanId: "new-call" }) },
      {
        kind: "connector_call",
        args: connectorCall(tenantId, { traceId, spanId: "conn", call: NO_COST }),
      },
    ]);
    assert.deepEqual(outcomes, [
      "replayed",
      "conflict",
      "inserted",
      "replayed",
      "conflict",
      "inserted",
      "replayed",
      "inserted",
      "inserted",
    ]);
    assert.equal(await countRows(db, "telemetry_events", tenantId), 3);
    assert.equal(await countRows(db, "llm_calls", tenantId), 2);
    assert.equal(await countRows(db, "connector_calls", tenantId), 1);
    const [row] = await db.sql`
      select count(*)::int as linked from llm_calls
      where tenant_id = ${tenantId} and pricing_snapshot_id is not null`;
    assert.equal(row.linked, 2);
  });
  await t.step("writes a batch of 1,000 in one go and replays it whole", async () => {
    const tenantId = await addTenant(db);
    const emitter = emitterFor(db, tenantId);
    const traceId = newTraceId();
    const events: KernelEvent[] = Array.from({ length: 1000 }, (_, i) =>
      ({
        kind: i % 2 ? "llm_call" : "telemetry",
        args: i % 2
          ? llmCall(tenantId, { traceId, spanId: `span-${i}` })
          : telemetry(tenantId, { traceId, spanId: `span-${i}`, payload: { i } }),
      }) as KernelEvent);
    const first = await emitter.emitMany(events);
    assert.ok(first.every((outcome) => outcome === "inserted"));
    const again = await emitter.emitMany(events);
    assert.ok(again.every((outcome) => outcome === "replayed"));
    assert.equal(await countRows(db, "telemetry_events", tenantId), 500);
    assert.equal(await countRows(db, "llm_calls", tenantId), 500);
    assert.equal(await countRows(db, "pricing_snapshots", tenantId), 1);
  });
  await t.step(
    "refuses the whole batch when one event is invalid; nothing is written",
    async () => {
      const tenantId = await addTenant(db);
      const emitter = emitterFor(db, tenantId);
      const traceId = newTraceId();
      const valid = telemetry(tenantId, { traceId, spanId: "ok" });
      const otherTenant = telemetry(crypto.randomUUID(), {
        traceId,
        spanId: "theirs",
      });
      const batch = [
        { kind: "telemetry", args: valid },
        { kind: "telemetry", args: { ...valid, span_id: 7 } },
        { kind: "metrics", args: valid },
        { kind: "telemetry", args: otherTenant },
        { kind: "telemetry", args: valid, extra: true },
        {
          kind: "llm_call",
          args: { ...llmCall(tenantId, { traceId, spanId: "l" }), cost_eur: null },
        },
      ];
      await assert.rejects(emitter.emitMany(batch as KernelEvent[]), (error: unknown) => {
        assert.ok(error instanceof ValidationError);
        assert.equal(error.contract, "KernelEvent[]");
        const paths = error.issues.map((issue) => issue.path);
        for (const path of ["1.args.span_id", "2.kind", "3.args.idempotency_key.tenant_id"]) {
          assert.ok(paths.includes(path), `no issue at "${path}": ${paths}`);
        }
        assert.ok(paths.some((path) => path.startsWith("4")), `no issue for event 4: ${paths}`);
        assert.ok(
          paths.some((path) => path.startsWith("5.args")),
          `no issue for event 5: ${paths}`,
        );
        assert.ok(!paths.some((path) => path.startsWith("0")));
        return true;
      });
      await assert.rejects(emitter.emitMany({} as unknown as KernelEvent[]), ValidationError);
      assert.equal(await countRows(db, "telemetry_events", tenantId), 0);
      assert.equal(await countRows(db, "llm_calls", tenantId), 0);
    },
  );
  await t.step("stores exactly what the single methods store", async () => {
    const traceId = newTraceId();
    const events = (tenantId: string): KernelEvent[] => [
      {
        kind: "telemetry",
        args: telemetry(tenantId, {
          traceId,
          spanId: "t",
          payload: { a: [1, { b: null }] },
        }),
      },
      { kind: "governance", args: governance(tenantId, { traceId, spanId: "g" }) },
      { kind: "llm_call", args: llmCall(tenantId, { traceId, spanId: "l" }) },
      {
        kind: "connector_call",
        args: connectorCall(tenantId, { traceId, spanId: "c" }),
      },
      {
        kind: "connector_call",
        args: connectorCall(tenantId, { traceId, spanId: "u", call: NO_COST }),
      },
    ];
    const [single, batched] = [await addTenant(db), await addTenant(db)];
    const emitter = emitterFor(db, single);
    for (const { kind, args } of events(single)) {
      if (kind === "telemetry") await emitter.emitTelemetry(args);
      if (kind === "governance") await emitter.emitGovernance(args);
      if (kind === "llm_call") await emitter.recordLlmCall(args);
      if (kind === "connector_call") await emitter.recordConnectorCall(args);
    }
    await emitterFor(db, batched).emitMany(events(batched));
    const rows = async (tenantId: string) => {
      const tables = ["telemetry_events", "llm_calls", "connector_calls"];
      return await Promise.all(tables.map(async (table) =>
        (await db.sql`
          select to_jsonb(t)
            - '{tenant_id,id,created_at,idempotency_key,pricing_snapshot_id}'::text[]
            || jsonb_build_object('priced', to_jsonb(t) ->> 'pricing_snapshot_id' is not null)
            as row
          from ${db.sql(table)} t where tenant_id = ${tenantId} order by span_id`)
          .map(({ row }) => row)
      ));
    };
    assert.deepEqual(await rows(batched), await rows(single));
  });
});
