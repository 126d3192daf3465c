import assert from "node:assert/strict";
import { ValidationError } from "../../src/errors.ts";
import { computeContentHash, idempotencyKeyToString } from "../../src/idempotency.ts";
import { connect } from "../../src/db.ts";
import {
  PostgresKernelEmitter,
  type PostgresKernelEmitterOptions,
} from "../../src/postgres_kernel_emitter.ts";
import { kernelEmitterSuite } from "../_emitter_suite.ts";
import { openTestDatabase } from "../_pg.ts";
import { addTenant, countRows, emitterFor } from "./_emitter_db.ts";
import { connectorCall, governance, llmCall, newTraceId, NO_COST, telemetry } from "../_helpers.ts";

Deno.test("PostgresKernelEmitter() refuses bad options; normalises the tenant id", async () => {
  // Nothing listens on port 1: any SQL would fail with EmitterUnavailable, not ValidationError.
  const sql = connect("postgres://postgres@127.0.0.1:1/none");
  const cases = [
    [{ tenantId: "tenant-1" }, "tenantId"],
    [{ tenantId: "00000000-0000-0000-0000-000000000000" }, "tenantId"],
    [{ tenantId: crypto.randomUUID(), role: "" }, "role"],
    [{ tenantId: crypto.randomUUID(), rol: "x" }, "rol"],
  ] as const;
  for (const [options, path] of cases) {
    assert.throws(
      () => new PostgresKernelEmitter(sql, options as PostgresKernelEmitterOptions),
      (error: unknown) => {
        assert.ok(error instanceof ValidationError);
        assert.deepEqual(error.issues.map((issue) => issue.path), [path]);
        return true;
      },
    );
  }
  const tenantId = crypto.randomUUID();
  assert.equal(
    new PostgresKernelEmitter(sql, { tenantId: tenantId.toUpperCase() }).tenantId,
    tenantId,
  );
  await sql.end();
});

Deno.test("PostgresKernelEmitter behaviour", async (t) => {
  await using db = await openTestDatabase();
  await t.step("passes the emitter suite", async (t) => {
    await kernelEmitterSuite(t, async (tenantId) => {
      await addTenant(db, tenantId);
      return {
        emitter: emitterFor(db, tenantId),
        count: (table) => countRows(db, table, tenantId),
        close: () => Promise.resolve(),
      };
    });
  });
  await t.step("stores each kind in its columns", async () => {
    const tenantId = await addTenant(db);
    const emitter = emitterFor(db, tenantId);
    const traceId = newTraceId();
    const events = {
      telemetry: telemetry(tenantId, {
        traceId,
        spanId: "span-t",
        payload: { skill: "bom-diff", n: [1, null] },
      }),
      governance: governance(tenantId, { traceId, spanId: "span-g" }),
      llm: llmCall(tenantId, { traceId, spanId: "span-l" }),
      connector: connectorCall(tenantId, { traceId, spanId: "span-c" }),
    };
    await emitter.emitTelemetry(events.telemetry);
    await emitter.emitGovernance(events.governance);
    await emitter.recordLlmCall(events.llm);
    await emitter.recordConnectorCall(events.connector);

    const kinds = await db.sql`
      select event_kind, event_type, capability, payload, idempotency_key, content_hash, trace_id
      from telemetry_events where tenant_id = ${tenantId} order by span_id desc`;
    assert.deepEqual(kinds.map((row) => ({ ...row })), [
      {
        event_kind: "telemetry",
        event_type: "skill.run.started",
        capability: "read.bom",
        payload: { skill: "bom-diff", n: [1, null] },
        idempotency_key: idempotencyKeyToString(events.telemetry.idempotency_key),
        content_hash: events.telemetry.idempotency_key.content_hash,
        trace_id: traceId,
      },
      {
        event_kind: "governance",
        event_type: "hitl.approved",
        capability: null,
        payload: { approver: "u-42" },
        idempotency_key: idempotencyKeyToString(events.governance.idempotency_key),
        content_hash: events.governance.idempotency_key.content_hash,
        trace_id: traceId,
      },
    ]);
    const [llm] = await db.sql`
      select model, prompt_tokens, completion_tokens, pricing_version, cost_eur, cost_status,
             event_type, span_id
      from llm_calls where tenant_id = ${tenantId}`;
    assert.deepEqual({ ...llm }, {
      model: "gpt-4o",
      prompt_tokens: 1200,
      completion_tokens: 300,
      pricing_version: "litellm-live",
      cost_eur: "0.0125000000",
      cost_status: "calculated",
      event_type: "llm.call",
      span_id: "span-l",
    });
    const [connector] = await db.sql`
      select connector_id, capability, envelope, cost_eur, cost_status
      from connector_calls where tenant_id = ${tenantId}`;
    assert.deepEqual({ ...connector }, {
      connector_id: "3dx-rest",
      capability: "read.parts",
      envelope: { part: "P-1" },
      cost_eur: "0.0020000000",
      cost_status: "calculated",
    });
  });
  await t.step("keeps one pricing snapshot per tenant, model and day", async () => {
    const [tenantId, otherTenant] = [await addTenant(db), await addTenant(db)];
    const traceId = newTraceId();
    const first = emitterFor(db, tenantId);
    // A conflict rolls its statement back; the snapshot made for it stays valid.
    const call = llmCall(tenantId, { traceId, spanId: "s1" });
    await first.recordLlmCall(call);
    const otherContent = computeContentHash({ prompt_tokens: 1 });
    await assert.rejects(
      first.recordLlmCall({
        ...call,
        prompt_tokens: 1,
        idempotency_key: { ...call.idempotency_key, content_hash: otherContent },
      }),
      { code: "IDEMPOTENCY_CONFLICT" },
    );
    await first.recordLlmCall(llmCall(tenantId, { traceId, spanId: "s2" }));
    // A second emitter misses its cache, finds the row and refers to the same snapshot.
    await emitterFor(db, tenantId).recordLlmCall(
      llmCall(tenantId, { traceId, spanId: "s3" }),
    );
    await first.recordLlmCall(
      llmCall(tenantId, { traceId, spanId: "s4", call: { model: "claude-sonnet-4" } }),
    );
    await first.recordConnectorCall(
      connectorCall(tenantId, { traceId, spanId: "s5" }),
    );
    await first.recordConnectorCall(
      connectorCall(tenantId, { traceId, spanId: "s6", call: NO_COST }),
    );
    await emitterFor(db, otherTenant).recordLlmCall(
      llmCall(otherTenant, { traceId, spanId: "s1" }),
    );

    const snapshots = await db.sql`
      select tenant_id, model, snapshot_date = current_date as today, pricing_version
      from pricing_snapshots where tenant_id in (${tenantId}, ${otherTenant})
      order by tenant_id = ${tenantId} desc, model`;
    assert.deepEqual(snapshots.map((row) => ({ ...row })), [
      { tenant_id: tenantId, model: "3dx-rest", today: true, pricing_version: "overrides-static" },
      {
        tenant_id: tenantId,
        model: "claude-sonnet-4",
        today: true,
        pricing_version: "litellm-live",
      },
      { tenant_id: tenantId, model: "gpt-4o", today: true, pricing_version: "litellm-live" },
      { tenant_id: otherTenant, model: "gpt-4o", today: true, pricing_version: "litellm-live" },
    ]);
    const calls = await db.sql`
      select c.span_id, s.model from llm_calls c
      join pricing_snapshots s on s.tenant_id = c.tenant_id and s.id = c.pricing_snapshot_id
      where c.tenant_id = ${tenantId} order by c.span_id`;
    assert.deepEqual(calls.map((row) => [row.span_id, row.model]), [
      ["s1", "gpt-4o"],
      ["s2", "gpt-4o"],
      ["s3", "gpt-4o"],
      ["s4", "claude-sonnet-4"],
    ]);
    const connectors = await db.sql`
      select span_id, pricing_snapshot_id is not null as priced from connector_calls
      where tenant_id = ${tenantId} order by span_id`;
    assert.deepEqual(connectors.map((row) => [row.span_id, row.priced]), [
      ["s5", true],
      ["s6", false],
    ]);
  });
  await t.step({
    name: "runs its statements as the role option says",
    // Citus opens its worker connections as the current role: a NOLOGIN role cannot be one.
    ignore: db.citus,
    fn: async () => {
      const tenantId = await addTenant(db);
      const traceId = newTraceId();
      // The superuser client bypasses row-level security; with `role` each statement runs as it.
      await emitterFor(db, tenantId, db.sql, { role: "plm_kernel_writer" })
        .emitTelemetry(telemetry(tenantId, { traceId, spanId: "s1" }));
      assert.equal(await countRows(db, "telemetry_events", tenantId), 1);
      // A role without INSERT on the event tables proves the switch happens.
      await assert.rejects(
        emitterFor(db, tenantId, db.sql, { role: "pg_monitor" })
          .emitTelemetry(telemetry(tenantId, { traceId, spanId: "s2" })),
        { code: "42501" },
      );
      assert.equal(await countRows(db, "telemetry_events", tenantId), 1);
    },
  });
});
