/**
 * The behavioural suite every `KernelEmitter` must pass (memory and PostgreSQL). Plug an
 * emitter in with a harness factory:
 *
 * ```ts ignore
 * Deno.test("MemoryKernelEmitter behaviour", (t) =>
 *   kernelEmitterSuite(t, async (tenantId) => { ... return { emitter, count, close }; }));
 * ```
 *
 * Each step uses its own random trace ids, so steps are independent and the suite may run
 * against a database that already holds rows (counts are compared before and after).
 *
 * @module
 */
import assert from "node:assert/strict";
import { IdempotencyConflict, TenantMismatch, ValidationError } from "../src/errors.ts";
import { withTenant } from "../src/tenant_context.ts";
import { idempotencyKeyToString } from "../src/idempotency.ts";
import type { EventTable, KernelEmitter } from "../src/kernel_api.ts";
import { connectorCall, governance, llmCall, newTraceId, NO_COST, telemetry } from "./_helpers.ts";

/** One emitter for one tenant, plus what the suite needs to observe it. */
export interface EmitterHarness {
  /** The emitter under test, writing for the tenant given to {@link OpenEmitter}. */
  readonly emitter: KernelEmitter;
  /** Number of rows of `table` that belong to the harness's tenant. */
  count(table: EventTable): Promise<number>;
  /** Release everything the harness opened. */
  close(): Promise<void>;
}

/** Opens a harness whose emitter writes for `tenantId` (a fresh lowercase UUID). */
export type OpenEmitter = (tenantId: string) => Promise<EmitterHarness>;

/** Arguments of any of the four methods. */
type Args = Parameters<KernelEmitter[keyof KernelEmitter]>[0];

interface Method {
  readonly name: keyof KernelEmitter;
  readonly table: EventTable;
  /** Valid arguments; `variant` changes the hashed content, not the identity. */
  readonly args: (tenantId: string, traceId: string, variant?: number) => Args;
}

const TELEMETRY: Method = {
  name: "emitTelemetry",
  table: "telemetry_events",
  args: (tenantId, traceId, variant = 0) =>
    telemetry(tenantId, { traceId, payload: { skill: "bom-diff", step: variant } }),
};

const GOVERNANCE: Method = {
  name: "emitGovernance",
  table: "telemetry_events",
  args: (tenantId, traceId, variant = 0) =>
    governance(tenantId, { traceId, payload: { approver: `u-${variant}` } }),
};

const LLM_CALL: Method = {
  name: "recordLlmCall",
  table: "llm_calls",
  args: (tenantId, traceId, variant = 0) =>
    llmCall(tenantId, { traceId, call: { prompt_tokens: 1200 + variant } }),
};

const CONNECTOR_CALL: Method = {
  name: "recordConnectorCall",
  table: "connector_calls",
  args: (tenantId, traceId, variant = 0) =>
    connectorCall(tenantId, {
      traceId,
      call: { ...NO_COST, envelope: { part: `P-${variant}` } },
    }),
};

const METHODS: readonly Method[] = [TELEMETRY, GOVERNANCE, LLM_CALL, CONNECTOR_CALL];
const TABLES: readonly EventTable[] = ["telemetry_events", "llm_calls", "connector_calls"];

function emit(emitter: KernelEmitter, method: Method, args: unknown): Promise<void> {
  return (emitter[method.name] as (args: unknown) => Promise<void>).call(emitter, args);
}

function isConflict(error: unknown, table: EventTable, args: Args): boolean {
  assert.ok(error instanceof IdempotencyConflict, `expected IdempotencyConflict, got ${error}`);
  assert.equal(error.code, "IDEMPOTENCY_CONFLICT");
  assert.equal(error.table, table);
  assert.equal(error.idempotencyKey, idempotencyKeyToString(args.idempotency_key as never));
  return true;
}

function isValidationError(error: unknown, path: string): boolean {
  assert.ok(error instanceof ValidationError, `expected ValidationError, got ${error}`);
  assert.equal(error.code, "VALIDATION_FAILED");
  // An unknown field may be reported on its parent object, naming the field in the message.
  const dot = path.lastIndexOf(".");
  const [parent, leaf] = [dot < 0 ? "" : path.slice(0, dot), path.slice(dot + 1)];
  const named = error.issues.some((issue) =>
    issue.path === path || (issue.path === parent && issue.message.includes(`"${leaf}"`))
  );
  assert.ok(named, `no issue names "${path}": ${JSON.stringify(error.issues)}`);
  return true;
}

async function counts(harness: EmitterHarness): Promise<number[]> {
  return await Promise.all(TABLES.map((table) => harness.count(table)));
}

/**
 * Run the behavioural suite as steps of `t` against emitters opened by `open`.
 *
 * @param t The test context the steps are added to.
 * @param open Opens a harness for a tenant; called for two fresh tenants.
 */
export async function kernelEmitterSuite(t: Deno.TestContext, open: OpenEmitter): Promise<void> {
  const tenantId = crypto.randomUUID();
  const harness = await open(tenantId);
  const { emitter } = harness;
  try {
    for (const method of METHODS) {
      await t.step(`${method.name}() stores one row`, async () => {
        const before = await harness.count(method.table);
        await emit(emitter, method, method.args(tenantId, newTraceId()));
        assert.equal(await harness.count(method.table), before + 1);
      });

      await t.step(`${method.name}() replay returns normally and stores nothing`, async () => {
        const traceId = newTraceId();
        const before = await harness.count(method.table);
        await emit(emitter, method, method.args(tenantId, traceId));
        await emit(emitter, method, method.args(tenantId, traceId));
        await emit(emitter, method, structuredClone(method.args(tenantId, traceId)));
        assert.equal(await harness.count(method.table), before + 1);
      });

      await t.step(`${method.name}() conflict throws IdempotencyConflict`, async () => {
        const traceId = newTraceId();
        const before = await harness.count(method.table);
        await emit(emitter, method, method.args(tenantId, traceId, 0));
        const other = method.args(tenantId, traceId, 1);
        await assert.rejects(
          () => emit(emitter, method, other),
          (error) => isConflict(error, method.table, other),
        );
        assert.equal(await harness.count(method.table), before + 1);
      });

      await t.step(`${method.name}() 64 concurrent emits of one key: one row`, async () => {
        const args = method.args(tenantId, newTraceId());
        const before = await harness.count(method.table);
        const results = await Promise.allSettled(
          Array.from({ length: 64 }, () => emit(emitter, method, structuredClone(args))),
        );
        assert.deepEqual(results.filter((r) => r.status === "rejected"), []);
        assert.equal(await harness.count(method.table), before + 1);
      });

      await t.step(
        `${method.name}() 64 concurrent emits of one identity with different contents: ` +
          "one row, 63 conflicts",
        async () => {
          const traceId = newTraceId();
          const before = await harness.count(method.table);
          const attempts = Array.from({ length: 64 }, (_, i) => method.args(tenantId, traceId, i));
          const results = await Promise.allSettled(
            attempts.map((args) => emit(emitter, method, args)),
          );
          assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
          results.forEach((result, i) => {
            if (result.status === "rejected") isConflict(result.reason, method.table, attempts[i]);
          });
          assert.equal(await harness.count(method.table), before + 1);
        },
      );
    }

    await t.step("telemetry and governance events share one identity space", async () => {
      const traceId = newTraceId();
      const telemetry = TELEMETRY.args(tenantId, traceId);
      await emit(emitter, TELEMETRY, telemetry);
      const governance = GOVERNANCE.args(tenantId, traceId);
      const eventType = telemetry.idempotency_key.event_type;
      const sameIdentity = {
        ...governance,
        governance_event_type: eventType,
        idempotency_key: { ...governance.idempotency_key, event_type: eventType },
      };
      await assert.rejects(
        () => emit(emitter, GOVERNANCE, sameIdentity),
        (error) => isConflict(error, "telemetry_events", sameIdentity),
      );
    });

    await t.step(
      "invalid arguments are refused with the field path; nothing is stored",
      async () => {
        const before = await counts(harness);
        for (const [method, change, path] of invalidCases()) {
          const args = change(method.args(tenantId, newTraceId()));
          await assert.rejects(
            () => emit(emitter, method, args),
            (e) => isValidationError(e, path),
          );
        }
        assert.deepEqual(await counts(harness), before);
      },
    );

    await t.step("a key of another tenant is refused; nothing is stored", async () => {
      const before = await counts(harness);
      for (const method of METHODS) {
        const args = method.args(crypto.randomUUID(), newTraceId());
        await assert.rejects(
          () => emit(emitter, method, args),
          (error) => isValidationError(error, "idempotency_key.tenant_id"),
        );
      }
      assert.deepEqual(await counts(harness), before);
    });

    await t.step(
      "a write inside withTenant of another tenant is refused; nothing is stored",
      async () => {
        const before = await counts(harness);
        for (const method of METHODS) {
          const args = method.args(tenantId, newTraceId());
          await withTenant(crypto.randomUUID(), async () => {
            await assert.rejects(() => emit(emitter, method, args), TenantMismatch);
          });
          await withTenant(tenantId, () => emit(emitter, method, args));
        }
        const stored = TABLES.map((table, i) =>
          before[i] + METHODS.filter((method) => method.table === table).length
        );
        assert.deepEqual(await counts(harness), stored);
      },
    );

    await t.step(
      "two tenants with the same trace, span and event type do not conflict",
      async () => {
        const otherTenant = crypto.randomUUID();
        const other = await open(otherTenant);
        try {
          for (const method of METHODS) {
            const traceId = newTraceId();
            const [mine, theirs] = [
              await harness.count(method.table),
              await other.count(method.table),
            ];
            await emit(emitter, method, method.args(tenantId, traceId, 0));
            await emit(other.emitter, method, method.args(otherTenant, traceId, 1));
            await emit(other.emitter, method, method.args(otherTenant, traceId, 1));
            assert.equal(await harness.count(method.table), mine + 1);
            assert.equal(await other.count(method.table), theirs + 1);
          }
        } finally {
          await other.close();
        }
      },
    );
  } finally {
    await harness.close();
  }
}

type Change = (args: Args) => unknown;

/** Each case: the method, how to break its valid arguments, the path the error must name. */
function invalidCases(): [Method, Change, string][] {
  const withKey = (field: string, value: unknown): Change => (args) => ({
    ...args,
    idempotency_key: { ...args.idempotency_key, [field]: value },
  });
  const with_ = (field: string, value: unknown): Change => (args) => ({ ...args, [field]: value });
  return [
    [TELEMETRY, with_("paylod", {}), "paylod"],
    [TELEMETRY, with_("span_id", 7), "span_id"],
    [TELEMETRY, with_("capability", "read.everything"), "capability"],
    [TELEMETRY, with_("payload", { price: NaN }), "payload.price"],
    [TELEMETRY, with_("payload", [1, 2]), "payload"],
    [TELEMETRY, with_("payload", { note: "a\u0000b" }), "payload.note"],
    [TELEMETRY, withKey("span_id", "ffffffffffffffff"), "idempotency_key.span_id"],
    [TELEMETRY, withKey("event_type", "skill.run.ended"), "idempotency_key.event_type"],
    [TELEMETRY, withKey("content_hash", "ABC"), "idempotency_key.content_hash"],
    [TELEMETRY, withKey("tenant_id", "tenant-1"), "idempotency_key.tenant_id"],
    [TELEMETRY, withKey("extra", "x"), "idempotency_key.extra"],
    [GOVERNANCE, with_("event_type", "x"), "event_type"],
    [GOVERNANCE, withKey("event_type", "hitl.rejected"), "idempotency_key.event_type"],
    [LLM_CALL, with_("prompt_tokens", "12"), "prompt_tokens"],
    [LLM_CALL, with_("completion_tokens", -1), "completion_tokens"],
    [LLM_CALL, with_("prompt_tokens", 1.5), "prompt_tokens"],
    [LLM_CALL, with_("prompt_tokens", 2 ** 31), "prompt_tokens"],
    [LLM_CALL, with_("cost_eur", null), "cost_eur"],
    [LLM_CALL, with_("cost_status", "unavailable"), "cost_eur"],
    [LLM_CALL, with_("pricing_version", "unavailable"), "cost_status"],
    [LLM_CALL, with_("model", ""), "model"],
    [CONNECTOR_CALL, with_("envelope", "text"), "envelope"],
    [CONNECTOR_CALL, with_("envelope", { ["k\u0000"]: 1 }), "envelope.k\u0000"],
    [CONNECTOR_CALL, with_("cost_eur", 1), "cost_eur"],
    [CONNECTOR_CALL, with_("cost_status", "calculated"), "cost_eur"],
    [CONNECTOR_CALL, with_("pricing_version", "litellm-live"), "pricing_version"],
    [CONNECTOR_CALL, withKey("span_id", "other"), "idempotency_key.span_id"],
  ];
}
