import assert from "node:assert/strict";
import type postgres from "postgres";
import { connect } from "../../src/db.ts";
import { IdempotencyConflict } from "../../src/errors.ts";
import { computeContentHash } from "../../src/idempotency.ts";
import type { EventTable } from "../../src/kernel_api.ts";
import type { PostgresKernelEmitter } from "../../src/postgres_kernel_emitter.ts";
import type { TestDatabase } from "../_pg.ts";
import { countRows, emitterFor, serverTest } from "./_emitter_db.ts";
import { connectorCall, governance, llmCall, newTraceId, telemetry } from "../_helpers.ts";

const CLIENTS = 64;

/** 64 emitters for one tenant, each on its own connection (opened before the race starts). */
async function openEmitters(db: TestDatabase, tenantId: string) {
  const clients: postgres.Sql[] = Array.from(
    { length: CLIENTS },
    () => connect(db.writerDsn, { max: 1 }),
  );
  await Promise.all(clients.map((sql) => sql`select 1`));
  return {
    emitters: clients.map((sql) => emitterFor(db, tenantId, sql)),
    close: () => Promise.all(clients.map((sql) => sql.end())),
  };
}

type Emit = (emitter: PostgresKernelEmitter, traceId: string, variant: number) => Promise<void>;

/** Each kind, with its table and a call whose content (not identity) depends on `variant`. */
function kinds(tenantId: string): [string, Emit, EventTable][] {
  const withContent = <T extends { idempotency_key: { content_hash: string } }>(
    args: T,
    variant: number,
  ): T => ({
    ...args,
    idempotency_key: { ...args.idempotency_key, content_hash: computeContentHash({ variant }) },
  });
  return [
    [
      "emitTelemetry()",
      (e, trace, v) =>
        e.emitTelemetry(withContent(telemetry(tenantId, { traceId: trace, spanId: "t" }), v)),
      "telemetry_events",
    ],
    [
      "emitGovernance()",
      (e, trace, v) =>
        e.emitGovernance(withContent(governance(tenantId, { traceId: trace, spanId: "g" }), v)),
      "telemetry_events",
    ],
    [
      "recordLlmCall()",
      (e, trace, v) =>
        e.recordLlmCall(withContent(llmCall(tenantId, { traceId: trace, spanId: "l" }), v)),
      "llm_calls",
    ],
    [
      "recordConnectorCall()",
      (e, trace, v) =>
        e.recordConnectorCall(
          withContent(connectorCall(tenantId, { traceId: trace, spanId: "c" }), v),
        ),
      "connector_calls",
    ],
  ];
}

serverTest(
  "PostgresKernelEmitter on 64 connections at once: exactly one row per key and " +
    "per identity (PG_DSN only: PGlite serves one connection at a time)",
  async (db, tenantId, t) => {
    const { emitters, close } = await openEmitters(db, tenantId);
    try {
      // Racing inserts of one key can trip uq_<table>_logical before ON CONFLICT sees the
      // winner's key (without the emitter's retry every step here fails); five rounds each.
      for (const [name, emit, table] of kinds(tenantId)) {
        await t.step(
          `${name}: one key from 64 connections → 1 row, 64 normal returns`,
          async () => {
            for (let round = 0; round < 5; round++) {
              const traceId = newTraceId();
              const before = await countRows(db, table, tenantId);
              const results = await Promise.allSettled(emitters.map((e) => emit(e, traceId, 0)));
              assert.deepEqual(results.filter((result) => result.status === "rejected"), []);
              assert.equal(await countRows(db, table, tenantId), before + 1);
            }
          },
        );
      }
      for (const [name, emit, table] of kinds(tenantId)) {
        await t.step(
          `${name}: one identity, 64 contents, 64 connections → 1 row, 63 conflicts`,
          async () => {
            const traceId = newTraceId();
            const before = await countRows(db, table, tenantId);
            const results = await Promise.allSettled(emitters.map((e, i) => emit(e, traceId, i)));
            const conflicts = results.filter((result) =>
              result.status === "rejected" && result.reason instanceof IdempotencyConflict &&
              result.reason.table === table
            );
            assert.equal(results.filter((result) => result.status === "fulfilled").length, 1);
            assert.equal(conflicts.length, CLIENTS - 1);
            assert.equal(await countRows(db, table, tenantId), before + 1);
          },
        );
      }
      await t.step(
        "a cold pricing cache on 64 connections → one snapshot, all rows use it",
        async () => {
          const traceId = newTraceId();
          const calls = emitters.map((emitter, i) =>
            emitter.recordLlmCall(
              llmCall(tenantId, {
                traceId,
                spanId: `cold-${i}`,
                call: { model: "cold-model" },
              }),
            )
          );
          await Promise.all(calls);
          const [row] = await db.sql`
        select count(distinct c.pricing_snapshot_id)::int as snapshots,
               count(*)::int as calls,
               count(*) filter (where s.model = 'cold-model')::int as linked
        from llm_calls c
        join pricing_snapshots s on s.tenant_id = c.tenant_id and s.id = c.pricing_snapshot_id
        where c.tenant_id = ${tenantId} and c.trace_id = ${traceId}`;
          assert.deepEqual({ ...row }, { snapshots: 1, calls: CLIENTS, linked: CLIENTS });
        },
      );
      await t.step("emitMany() from 64 connections, same events in other orders", async () => {
        const traceId = newTraceId();
        const events = Array.from({ length: 32 }, (_, i) => ({
          kind: "telemetry" as const,
          args: telemetry(tenantId, { traceId, spanId: `batch-${i}` }),
        }));
        const before = await countRows(db, "telemetry_events", tenantId);
        const outcomes = await Promise.all(emitters.map((emitter, i) => {
          const rotated = [...events.slice(i % 32), ...events.slice(0, i % 32)];
          return emitter.emitMany(i % 2 ? rotated.reverse() : rotated);
        }));
        const inserted = outcomes.flat().filter((outcome) => outcome === "inserted").length;
        assert.equal(inserted, events.length);
        assert.equal(outcomes.flat().filter((outcome) => outcome === "conflict").length, 0);
        assert.equal(await countRows(db, "telemetry_events", tenantId), before + events.length);
      });
    } finally {
      await close();
    }
  },
);
