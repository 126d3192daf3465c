import assert from "node:assert/strict";
import { UnknownTenant } from "../src/errors.ts";
import { MemoryKernelEmitter } from "../src/memory_kernel_emitter.ts";
import { MemoryTenantRegistry } from "../src/memory_tenant_registry.ts";
import { lifecycleSuite } from "./_lifecycle_suite.ts";
import { connectorCall, governance, llmCall, telemetry } from "./_helpers.ts";

Deno.test("MemoryKernelEmitter passes the lifecycle suite", (t) => {
  const tenants = new MemoryTenantRegistry();
  return lifecycleSuite(t, (tenantId, registered) => {
    if (registered) tenants.register({ id: tenantId, name: `tenant ${tenantId}` });
    const emitter = new MemoryKernelEmitter({ tenantId, tenants });
    return Promise.resolve({ emitter, close: () => Promise.resolve() });
  });
});

Deno.test("MemoryKernelEmitter refuses every write for an unregistered tenant", async () => {
  const tenantId = crypto.randomUUID();
  const emitter = new MemoryKernelEmitter({ tenantId, tenants: new MemoryTenantRegistry() });
  const writes = [
    () => emitter.emitTelemetry(telemetry(tenantId)),
    () => emitter.emitGovernance(governance(tenantId)),
    () => emitter.recordLlmCall(llmCall(tenantId)),
    () => emitter.recordConnectorCall(connectorCall(tenantId)),
    () => emitter.emitMany([{ kind: "telemetry", args: telemetry(tenantId) }]),
  ];
  for (const write of writes) await assert.rejects(write, UnknownTenant);
  assert.equal(emitter.rows("telemetry_events").length, 0);
});

Deno.test("MemoryKernelEmitter.emitMany() reports outcomes like PostgreSQL's", async () => {
  const tenantId = crypto.randomUUID();
  const emitter = new MemoryKernelEmitter({ tenantId });
  const one = telemetry(tenantId, { payload: { n: 1 } });
  const other = { ...telemetry(tenantId, { payload: { n: 2 } }) };
  const clash = {
    ...other,
    idempotency_key: { ...other.idempotency_key, trace_id: one.idempotency_key.trace_id },
  };
  assert.deepEqual(
    await emitter.emitMany([
      { kind: "telemetry", args: one },
      { kind: "telemetry", args: one },
      { kind: "telemetry", args: clash },
      { kind: "llm_call", args: llmCall(tenantId) },
    ]),
    ["inserted", "replayed", "conflict", "inserted"],
  );
  await assert.rejects(
    emitter.emitMany([{ kind: "telemetry", args: one }, { kind: "telemetry", args: {} as never }]),
    { code: "VALIDATION_FAILED" },
  );
  assert.equal(emitter.rows("telemetry_events").length, 1);
});
