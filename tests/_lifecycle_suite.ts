/**
 * The behavioural suite of the run lifecycle (`RunLifecycle`), run against the memory emitter,
 * PostgreSQL servers and PGlite. Also `fullLifecycle`, the whole lifecycle of one run, whose
 * card the emitters must agree on.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  connectorCallEvent,
  governanceEvent,
  llmCallEvent,
  telemetryEvent,
} from "../src/event_builders.ts";
import {
  ArtifactConflict,
  CostNotPending,
  CostSettlementConflict,
  QualityRegression,
  RunConflict,
  TenantMismatch,
  UnknownCall,
  UnknownRun,
  UnknownTenant,
  ValidationError,
} from "../src/errors.ts";
import type { KernelEmitter } from "../src/kernel_api.ts";
import type { ArtifactRecord, RunLifecycle, StartRunArgs } from "../src/lifecycle.ts";
import type { RunCardV1 } from "../src/run_card.ts";
import { withTenant } from "../src/tenant_context.ts";
import { newTraceContext, withTraceContext } from "../src/trace_context.ts";
import { newTraceId } from "./_helpers.ts";

/** An emitter with the lifecycle. */
export type LifecycleEmitter = KernelEmitter & RunLifecycle;

/** Opens an emitter for `tenantId`, registering the tenant first when `registered`. */
export type OpenLifecycle = (
  tenantId: string,
  registered: boolean,
) => Promise<{ emitter: LifecycleEmitter; close(): Promise<void> }>;

/** Options of {@link lifecycleSuite}. */
export interface LifecycleSuiteOptions {
  /** Skip the 64-way concurrency steps (PGlite serves one connection). */
  readonly skipConcurrency?: boolean;
}

const START: Omit<StartRunArgs, "trace_id"> = {
  product_line: "workbench",
  actor_kind: "human",
  actor_id: "u-42",
};

/** An artifact as `head` returns it. */
export function artifact(name = "report.pdf", size = 1234): ArtifactRecord & { key: string } {
  return {
    key: name,
    uri: `file:///artifacts/${name}`,
    sha256: "a".repeat(64),
    size,
    contentType: "application/pdf",
  };
}

/**
 * The whole lifecycle of one run through the API: start, one event of each kind (a pending
 * LLM call settled later, a pending connector call settled unavailable), an artifact, quality
 * raised, run ended. Returns the card.
 */
export async function fullLifecycle(
  emitter: LifecycleEmitter,
  tenantId: string,
  traceId: string,
): Promise<RunCardV1> {
  return await withTenant(
    tenantId,
    () =>
      withTraceContext({ ...newTraceContext(), traceId }, async () => {
        await emitter.startRun(START);
        await emitter.emitTelemetry(telemetryEvent({
          event_type: "skill.run.started",
          capability: "read.bom",
          payload: { skill: "bom-diff" },
        }));
        await emitter.emitGovernance(governanceEvent({
          governance_event_type: "hitl.approved",
          payload: { approver: "u-42" },
        }));
        const usage = { model: "gpt-4o", prompt_tokens: 1200, completion_tokens: 300 };
        const pending = llmCallEvent({
          ...usage,
          pricing_version: "litellm-live",
          cost_status: "pending",
        });
        await emitter.recordLlmCall(pending);
        await emitter.recordLlmCall(llmCallEvent({
          ...usage,
          event_type: "llm.call.2",
          pricing_version: "litellm-live",
          cost_status: "calculated",
          cost_eur: 0.0000000001, // the smallest cost numeric(20, 10) holds; finer is refused
        }));
        const connector = connectorCallEvent({
          connector_id: "3dx-rest",
          capability: "read.parts",
          envelope: { part: "P-1" },
          pricing_version: "overrides-static",
          cost_status: "pending",
        });
        await emitter.recordConnectorCall(connector);
        await emitter.recordArtifact({ artifact: artifact() });
        await emitter.settleCost({
          table: "llm_calls",
          idempotency_key: pending.idempotency_key,
          cost_status: "calculated",
          cost_eur: 0.0125,
        });
        await emitter.settleCost({
          table: "connector_calls",
          idempotency_key: connector.idempotency_key,
          cost_status: "unavailable",
        });
        await emitter.raiseQuality({ quality_level: "reviewed" });
        await emitter.endRun({ quality_level: "validated" });
        const card = await emitter.runCard();
        assert.ok(card);
        return card;
      }),
  );
}

/** A pending LLM call of a trace, with its settlement arguments. */
function pendingCall(tenantId: string, traceId: string) {
  const call = llmCallEvent({
    tenant_id: tenantId,
    trace_id: traceId,
    span_id: "00f067aa0ba902b7",
    model: "gpt-4o-mini",
    prompt_tokens: 10,
    completion_tokens: 20,
    pricing_version: "litellm-live",
    cost_status: "pending",
  });
  const settle = {
    table: "llm_calls",
    idempotency_key: call.idempotency_key,
    cost_status: "calculated",
    cost_eur: 0.25,
  } as const;
  return { call, settle };
}

/**
 * Run the lifecycle suite as steps of `t`.
 *
 * @param t The test context.
 * @param open Opens emitters.
 * @param options What to skip.
 */
export async function lifecycleSuite(
  t: Deno.TestContext,
  open: OpenLifecycle,
  options: LifecycleSuiteOptions = {},
): Promise<void> {
  const tenantId = crypto.randomUUID();
  const { emitter, close } = await open(tenantId, true);
  const start = (trace_id = newTraceId()) => ({ ...START, trace_id });
  try {
    await t.step(
      "startRun(): one run per trace; again the same run; other fields conflict",
      async () => {
        const args = start();
        const first = await emitter.startRun(args);
        assert.equal(first.created, true);
        assert.match(first.run_id, /^[1-9]\d*$/);
        assert.deepEqual(await emitter.startRun({ ...args }), { ...first, created: false });
        await assert.rejects(emitter.startRun({ ...args, actor_id: "u-43" }), RunConflict);
        const card = await emitter.runCard(args.trace_id);
        assert.equal(card?.run_id, first.run_id);
        assert.equal(card?.actor_id, "u-42");
        assert.ok(Object.isFrozen(card));
      },
    );

    await t.step("the trace comes from the current trace context when omitted", async () => {
      const context = newTraceContext();
      const run = await withTraceContext(context, () => emitter.startRun(START));
      assert.equal(run.trace_id, context.traceId);
      assert.equal((await emitter.runCard(context.traceId))?.trace_id, context.traceId);
      await assert.rejects(emitter.startRun(START), (error) => {
        assert.ok(error instanceof ValidationError);
        assert.equal(error.issues[0].path, "trace_id");
        return true;
      });
      assert.equal(await emitter.runCard(newTraceId()), undefined);
    });

    await t.step("raiseQuality(): forward only; the same level again changes nothing", async () => {
      const { trace_id } = await emitter.startRun(start());
      assert.deepEqual(await emitter.raiseQuality({ trace_id, quality_level: "validated" }), {
        trace_id,
        quality_level: "validated",
        raised: true,
      });
      assert.equal(
        (await emitter.raiseQuality({ trace_id, quality_level: "validated" })).raised,
        false,
      );
      await assert.rejects(
        emitter.raiseQuality({ trace_id, quality_level: "reviewed" }),
        (error) => error instanceof QualityRegression && error.code === "QUALITY_REGRESSION",
      );
      assert.equal((await emitter.runCard(trace_id))?.quality_level, "validated");
      await assert.rejects(
        emitter.raiseQuality({ trace_id: newTraceId(), quality_level: "released" }),
        (error) => error instanceof UnknownRun && error.code === "UNKNOWN_RUN",
      );
    });

    await t.step("endRun(): ended_at is set once; a lower quality is refused", async () => {
      const { trace_id } = await emitter.startRun(start());
      const ended = await emitter.endRun({ trace_id, quality_level: "reviewed" });
      assert.equal(ended.quality_level, "reviewed");
      assert.ok(!Number.isNaN(Date.parse(ended.ended_at)));
      assert.deepEqual(await emitter.endRun({ trace_id }), ended);
      await assert.rejects(emitter.endRun({ trace_id, quality_level: "draft" }), QualityRegression);
      const card = await emitter.runCard(trace_id);
      assert.equal(card?.ended_at, ended.ended_at);
      await assert.rejects(emitter.endRun({ trace_id: newTraceId() }), UnknownRun);
    });

    await t.step("recordArtifact(): once per uri and sha256; counted in §7", async () => {
      const { trace_id } = await emitter.startRun(start());
      const stored = artifact(`a-${trace_id}.pdf`, 2048);
      assert.deepEqual(await emitter.recordArtifact({ trace_id, artifact: stored }), {
        created: true,
      });
      assert.deepEqual(await emitter.recordArtifact({ trace_id, artifact: { ...stored } }), {
        created: false,
      });
      await assert.rejects(
        emitter.recordArtifact({ trace_id, artifact: { ...stored, size: 1 } }),
        (error) => error instanceof ArtifactConflict && error.code === "ARTIFACT_CONFLICT",
      );
      const card = await emitter.runCard(trace_id);
      assert.equal(card?.artifact_count, 1);
      assert.equal(card?.artifact_bytes, 2048);
      await assert.rejects(
        emitter.recordArtifact({ trace_id: newTraceId(), artifact: stored }),
        UnknownRun,
      );
    });

    await t.step("settleCost(): pending settles once; replay; refusals", async () => {
      const { trace_id } = await emitter.startRun(start());
      const { call, settle } = pendingCall(tenantId, trace_id);
      await emitter.recordLlmCall(call);
      assert.equal((await emitter.runCard(trace_id))?.llm_cost_pending_count, 1);
      assert.deepEqual(await emitter.settleCost(settle), { settled: true });
      assert.deepEqual(await emitter.settleCost({ ...settle }), { settled: false });
      await assert.rejects(
        emitter.settleCost({ ...settle, cost_eur: 0.5 }),
        (error) =>
          error instanceof CostSettlementConflict && error.code === "COST_SETTLEMENT_CONFLICT",
      );
      await assert.rejects(
        emitter.settleCost({ ...settle, cost_status: "unavailable", cost_eur: undefined }),
        (error) => error instanceof CostNotPending && error.code === "COST_NOT_PENDING",
      );
      const card = await emitter.runCard(trace_id);
      assert.equal(card?.llm_cost_eur, "0.2500000000");
      assert.equal(card?.llm_cost_pending_count, 0);
      await assert.rejects(
        emitter.settleCost({
          ...settle,
          idempotency_key: { ...settle.idempotency_key, span_id: "ffffffffffffffff" },
        }),
        (error) => error instanceof UnknownCall && error.code === "UNKNOWN_CALL",
      );
      const unavailable = pendingCall(tenantId, newTraceId());
      await emitter.startRun(start(unavailable.call.idempotency_key.trace_id));
      await emitter.recordLlmCall(unavailable.call);
      const noCost = { ...unavailable.settle, cost_status: "unavailable", cost_eur: null } as const;
      assert.deepEqual(await emitter.settleCost(noCost), { settled: true });
      assert.deepEqual(await emitter.settleCost(noCost), { settled: false });
      const after = await emitter.runCard(unavailable.call.idempotency_key.trace_id);
      assert.equal(after?.llm_cost_unavailable_count, 1);
      assert.equal(after?.llm_cost_eur, "0.0000000000");
      const recordedFinal = pendingCall(tenantId, newTraceId());
      await emitter.recordLlmCall({
        ...recordedFinal.call,
        cost_status: "calculated",
        cost_eur: 0.25,
      });
      await assert.rejects(
        emitter.settleCost({ ...recordedFinal.settle, cost_status: "unavailable", cost_eur: null }),
        CostNotPending,
      );
    });

    await t.step(
      "every lifecycle write inside withTenant of another tenant: TenantMismatch",
      async () => {
        const { trace_id } = await emitter.startRun(start());
        const { call, settle } = pendingCall(tenantId, trace_id);
        await emitter.recordLlmCall(call);
        await withTenant(crypto.randomUUID(), async () => {
          for (
            const write of [
              () => emitter.startRun(start()),
              () => emitter.endRun({ trace_id }),
              () => emitter.raiseQuality({ trace_id, quality_level: "released" }),
              () => emitter.recordArtifact({ trace_id, artifact: artifact() }),
              () => emitter.settleCost(settle),
            ]
          ) {
            await assert.rejects(write, TenantMismatch);
          }
        });
        const card = await emitter.runCard(trace_id);
        assert.equal(card?.ended_at, null);
        assert.equal(card?.quality_level, "draft");
        assert.equal(card?.artifact_count, 0);
        assert.equal(card?.llm_cost_pending_count, 1);
      },
    );

    await t.step("every lifecycle write for an unregistered tenant: UnknownTenant", async () => {
      const stranger = crypto.randomUUID();
      const other = await open(stranger, false);
      try {
        const trace_id = newTraceId();
        const { settle } = pendingCall(stranger, trace_id);
        for (
          const write of [
            () => other.emitter.startRun(start(trace_id)),
            () => other.emitter.endRun({ trace_id }),
            () => other.emitter.raiseQuality({ trace_id, quality_level: "released" }),
            () => other.emitter.recordArtifact({ trace_id, artifact: artifact() }),
            () => other.emitter.settleCost(settle),
          ]
        ) {
          await assert.rejects(
            write,
            (error) => error instanceof UnknownTenant && error.code === "UNKNOWN_TENANT",
          );
        }
        assert.equal(await other.emitter.runCard(trace_id), undefined);
      } finally {
        await other.close();
      }
    });

    const ignore = options.skipConcurrency ?? false;
    await t.step({
      name: "64 concurrent startRun of one trace: one run, the same for every caller",
      ignore,
      fn: async () => {
        const args = start();
        const runs = await Promise.all(
          Array.from({ length: 64 }, () => emitter.startRun({ ...args })),
        );
        assert.equal(runs.filter((run) => run.created).length, 1);
        assert.equal(new Set(runs.map((run) => run.run_id)).size, 1);
      },
    });

    await t.step({
      name: "64 concurrent settleCost of one call: settled once, a replay for the 63 others",
      ignore,
      fn: async () => {
        const { trace_id } = await emitter.startRun(start());
        const { call, settle } = pendingCall(tenantId, trace_id);
        await emitter.recordLlmCall(call);
        const results = await Promise.all(
          Array.from({ length: 64 }, () => emitter.settleCost({ ...settle })),
        );
        assert.equal(results.filter((result) => result.settled).length, 1);
        assert.equal((await emitter.runCard(trace_id))?.llm_cost_eur, "0.2500000000");
      },
    });

    await t.step({
      name: "64 concurrent recordArtifact of one artifact: one row, created for one caller",
      ignore,
      fn: async () => {
        const { trace_id } = await emitter.startRun(start());
        const results = await Promise.all(
          Array.from(
            { length: 64 },
            () => emitter.recordArtifact({ trace_id, artifact: artifact() }),
          ),
        );
        assert.equal(results.filter((result) => result.created).length, 1);
        assert.equal((await emitter.runCard(trace_id))?.artifact_count, 1);
      },
    });
  } finally {
    await close();
  }
}
