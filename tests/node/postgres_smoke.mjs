// Node smoke suite for `@tracepulse/plm-shared/postgres` and `/migrate` from the installed npm
// package, on the real PostgreSQL named by PG_DSN (skipped when it is unset): migrations, then
// the emitter as a login role in plm_kernel_writer.
// Each run works in a fresh database and a fresh role, and drops both.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import * as plm from "@tracepulse/plm-shared";
import { migrate, migrationStatus } from "@tracepulse/plm-shared/migrate";
import { connect, PostgresKernelEmitter } from "@tracepulse/plm-shared/postgres";
import { llmCall, TENANT } from "./_fixtures.mjs";

const PG_DSN = process.env.PG_DSN;

describe("./postgres under Node", { skip: PG_DSN ? false : "PG_DSN is not set" }, () => {
  const suffix = randomBytes(6).toString("hex");
  const database = `plm_node_smoke_${suffix}`;
  const role = `plm_node_smoke_${suffix}`;
  let admin, owner, writer;

  before(async () => {
    admin = connect(PG_DSN, { max: 1 });
    await admin.unsafe(`create database ${database}`);
    owner = connect(withUrl(PG_DSN, { pathname: `/${database}` }), { max: 1 });
    const steps = await migrate(owner);
    assert.ok(steps.length >= 12, "the migrations did not all run");
    const status = await migrationStatus(owner);
    assert.deepEqual(status.applied, steps.map((step) => step.revision));
    assert.deepEqual(status.pending, []);
    // The npm package records its revisions as `.js`; a checkout reads them all the same.
    const [first] = await owner`select name from migrations order by id limit 1`;
    assert.equal(first.name, "0001_tenants_runs.js");
    await owner.unsafe(`create role ${role} login in role plm_kernel_writer`);
    await owner`insert into tenants (id, name) values (${TENANT}, 'node smoke')`;
    writer = connect(withUrl(PG_DSN, { pathname: `/${database}`, username: role }), { max: 4 });
  });

  after(async () => {
    await writer?.end();
    await owner?.end();
    await admin?.unsafe(`drop database if exists ${database} with (force)`);
    await admin?.unsafe(`drop role if exists ${role}`);
    await admin?.end();
  });

  it("PostgresKernelEmitter stores an event once, replays silently and reports a conflict", async () => {
    const emitter = new PostgresKernelEmitter(writer, { tenantId: TENANT });
    const ctx = plm.newTraceContext();
    const event = (payload) => ({
      event_type: "skill.started",
      span_id: ctx.spanId,
      capability: "read.parts",
      payload,
      idempotency_key: {
        tenant_id: TENANT,
        trace_id: ctx.traceId,
        span_id: ctx.spanId,
        event_type: "skill.started",
        content_hash: plm.computeContentHash(payload),
      },
    });
    await plm.withTenant(TENANT, () =>
      plm.withTraceContext(ctx, async () => {
        await emitter.emitTelemetry(event({ part: "P-1" }));
        await emitter.emitTelemetry(event({ part: "P-1" }));
        await assert.rejects(
          emitter.emitTelemetry(event({ part: "P-2" })),
          plm.IdempotencyConflict,
        );
      }));
    const rows = await owner`select event_type, trace_id from telemetry_events`;
    assert.deepEqual(rows.map((row) => ({ ...row })), [
      { event_type: "skill.started", trace_id: ctx.traceId },
    ]);
  });

  it("PostgresKernelEmitter records an LLM call with its exact cost", async () => {
    const emitter = new PostgresKernelEmitter(writer, { tenantId: TENANT });
    const ctx = plm.newTraceContext();
    // The event builder derives the span, trace, tenant and idempotency key.
    await emitter.recordLlmCall(llmCall({ trace_id: ctx.traceId, span_id: ctx.spanId }));
    const [row] = await owner`select model, cost_eur::text as cost_eur from llm_calls`;
    assert.equal(row.model, "gpt-4o");
    assert.equal(Number(row.cost_eur), 0.00322);
  });
});

function withUrl(dsn, parts) {
  const url = new URL(dsn);
  Object.assign(url, parts);
  return url.href;
}
