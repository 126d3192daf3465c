import assert from "node:assert/strict";
import { ValidationError } from "../src/errors.ts";
import { idempotencyKeyToString } from "../src/idempotency.ts";
import { MemoryKernelEmitter } from "../src/memory_kernel_emitter.ts";
import { kernelEmitterSuite } from "./_emitter_suite.ts";
import { telemetry } from "./_helpers.ts";

Deno.test("MemoryKernelEmitter passes the emitter suite", (t) =>
  kernelEmitterSuite(t, (tenantId) => {
    const emitter = new MemoryKernelEmitter({ tenantId });
    return Promise.resolve({
      emitter,
      count: (table) => Promise.resolve(emitter.rows(table).length),
      close: () => Promise.resolve(),
    });
  }));

const TENANT = "0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

function withPayload(payload: Record<string, unknown>) {
  return telemetry(TENANT, { traceId: TRACE, payload });
}

Deno.test("MemoryKernelEmitter() refuses a bad tenant id at construction", () => {
  for (const tenantId of ["", "tenant-1", "00000000-0000-0000-0000-000000000000"]) {
    assert.throws(() => new MemoryKernelEmitter({ tenantId }), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.deepEqual(error.issues.map((issue) => issue.path), ["tenantId"]);
      return true;
    });
  }
  assert.equal(new MemoryKernelEmitter({ tenantId: TENANT.toUpperCase() }).tenantId, TENANT);
});

Deno.test("MemoryKernelEmitter.rows() behaviour", async (t) => {
  await t.step("gives the stored columns and the parsed arguments", async () => {
    const emitter = new MemoryKernelEmitter({ tenantId: TENANT });
    const args = withPayload({ skill: "bom-diff" });
    await emitter.emitTelemetry(args);
    const [row] = emitter.rows("telemetry_events");
    assert.deepEqual(row, {
      table: "telemetry_events",
      kind: "telemetry",
      args,
      tenant_id: TENANT,
      trace_id: args.idempotency_key.trace_id,
      span_id: args.span_id,
      event_type: args.event_type,
      idempotency_key: idempotencyKeyToString(args.idempotency_key),
    });
    assert.deepEqual(emitter.rows("llm_calls"), []);
  });

  await t.step("rows are frozen copies: the caller's later changes do not reach them", async () => {
    const emitter = new MemoryKernelEmitter({ tenantId: TENANT });
    const payload = { parts: ["P-1"] };
    await emitter.emitTelemetry(withPayload(payload));
    payload.parts.push("P-2");
    const rows = emitter.rows("telemetry_events");
    const row = rows[0];
    assert.ok(row.kind === "telemetry");
    assert.deepEqual(row.args.payload, { parts: ["P-1"] });
    assert.ok(Object.isFrozen(rows) && Object.isFrozen(row.args.payload.parts));
    assert.throws(() => (row.args.payload.parts as string[]).push("P-3"), TypeError);
  });

  await t.step("a snapshot does not change when more events arrive", async () => {
    const emitter = new MemoryKernelEmitter({ tenantId: TENANT });
    const snapshot = emitter.rows("telemetry_events");
    await emitter.emitTelemetry(withPayload({}));
    assert.equal(snapshot.length, 0);
    assert.equal(emitter.rows("telemetry_events").length, 1);
  });
});

Deno.test("MemoryKernelEmitter reports failures as rejections, never synchronous throws", () => {
  const emitter = new MemoryKernelEmitter({ tenantId: TENANT });
  const pending = emitter.emitTelemetry({ nonsense: true } as never);
  assert.ok(pending instanceof Promise);
  return assert.rejects(pending, ValidationError);
});
