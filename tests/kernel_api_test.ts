import assert from "node:assert/strict";
import { z } from "zod";
import type { ContractSchema } from "../src/contract_schema.ts";
import {
  EmitConnectorCallArgs,
  EmitGovernanceArgs,
  EmitLlmCallArgs,
  EmitTelemetryArgs,
} from "../src/kernel_api.ts";
import { connectorCall, governance, llmCall, NO_COST, telemetry } from "./_helpers.ts";

const TENANT = "0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e";
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

const TELEMETRY = telemetry(TENANT, { traceId: TRACE });
/** Without `payload`, which defaults to `{}`. */
const { payload: _payload, ...GOVERNANCE } = governance(TENANT, { traceId: TRACE });
const LLM_CALL = llmCall(TENANT, { traceId: TRACE });
/** Without `envelope`, which defaults to `{}`. */
const { envelope: _envelope, ...CONNECTOR_CALL } = connectorCall(TENANT, {
  traceId: TRACE,
  call: NO_COST,
});

/** The paths a schema's issues name; an unknown field is named as `<object>.<field>`. */
function issuePaths(schema: ContractSchema<unknown>, value: unknown): string[] {
  const result = schema.safeParse(value);
  if (result.success) return [];
  return (result.error as z.ZodError).issues.flatMap((issue) => {
    const path = issue.path.map(String);
    if (issue.code !== "unrecognized_keys") return [path.join(".")];
    return issue.keys.map((field) => [...path, field].join("."));
  });
}

Deno.test("EmitTelemetryArgs behaviour", async (t) => {
  await t.step("accepts valid arguments and defaults payload to {}", () => {
    assert.deepEqual(EmitTelemetryArgs.parse(TELEMETRY), TELEMETRY);
    const { payload: _, ...withoutPayload } = TELEMETRY;
    assert.deepEqual(EmitTelemetryArgs.parse(withoutPayload).payload, {});
  });
  await t.step("accepts built-in and x.-prefixed capabilities only", () => {
    assert.deepEqual(
      issuePaths(EmitTelemetryArgs, { ...TELEMETRY, capability: "x.acme.export" }),
      [],
    );
    for (const capability of ["read", "nope.thing", "Read.Parts", "", 3]) {
      assert.deepEqual(issuePaths(EmitTelemetryArgs, { ...TELEMETRY, capability }), ["capability"]);
    }
  });
  await t.step("refuses a payload that is not a plain JSON object, naming the path", () => {
    const cases: [unknown, string][] = [
      [[1], "payload"],
      ["text", "payload"],
      [null, "payload"],
      [{ at: new Date(0) }, "payload.at"],
      [{ list: [1, undefined] }, "payload.list.1"],
      [{ n: 1n }, "payload.n"],
      [{ note: "a\u0000b" }, "payload.note"],
      [{ list: [{ ["k\u0000"]: 1 }] }, "payload.list.0.k\u0000"],
    ];
    for (const [payload, path] of cases) {
      assert.deepEqual(issuePaths(EmitTelemetryArgs, { ...TELEMETRY, payload }), [path]);
    }
  });
  await t.step("refuses unknown fields, top level and inside the key", () => {
    assert.deepEqual(issuePaths(EmitTelemetryArgs, { ...TELEMETRY, paylod: {} }), ["paylod"]);
    assert.deepEqual(
      issuePaths(EmitTelemetryArgs, {
        ...TELEMETRY,
        idempotency_key: { ...TELEMETRY.idempotency_key, tenant: TENANT },
      }),
      ["idempotency_key.tenant"],
    );
  });
  await t.step("the key must repeat span_id and event_type", () => {
    assert.deepEqual(issuePaths(EmitTelemetryArgs, { ...TELEMETRY, span_id: "aaaa" }), [
      "idempotency_key.span_id",
    ]);
    assert.deepEqual(issuePaths(EmitTelemetryArgs, { ...TELEMETRY, event_type: "other" }), [
      "idempotency_key.event_type",
    ]);
  });
  await t.step("identifiers are 1 to 128 printable ASCII characters", () => {
    const longest = "e".repeat(128);
    const args = (eventType: string) => ({
      ...TELEMETRY,
      event_type: eventType,
      idempotency_key: { ...TELEMETRY.idempotency_key, event_type: eventType },
    });
    assert.deepEqual(issuePaths(EmitTelemetryArgs, args(longest)), []);
    for (const eventType of [`${longest}e`, "", "skill run", "skill.é"]) {
      assert.deepEqual(
        issuePaths(EmitTelemetryArgs, args(eventType)),
        ["event_type", "idempotency_key.event_type"],
        eventType,
      );
    }
  });
  await t.step("refuses a missing field", () => {
    const { span_id: _, ...withoutSpan } = TELEMETRY;
    assert.deepEqual(issuePaths(EmitTelemetryArgs, withoutSpan), ["span_id"]);
  });
});

Deno.test("EmitGovernanceArgs behaviour", async (t) => {
  await t.step("accepts valid arguments and defaults payload to {}", () => {
    assert.deepEqual(EmitGovernanceArgs.parse(GOVERNANCE), { ...GOVERNANCE, payload: {} });
  });
  await t.step("the key's event type must be governance_event_type", () => {
    assert.deepEqual(
      issuePaths(EmitGovernanceArgs, { ...GOVERNANCE, governance_event_type: "hitl.rejected" }),
      ["idempotency_key.event_type"],
    );
  });
  await t.step("has no event_type or capability field", () => {
    assert.deepEqual(
      issuePaths(EmitGovernanceArgs, { ...GOVERNANCE, event_type: "x", capability: "llm.call" }),
      ["event_type", "capability"],
    );
  });
});

Deno.test("EmitLlmCallArgs behaviour", async (t) => {
  await t.step("cost rules: each combination of version, status and cost", () => {
    const cases: [string, string, number | null | undefined, string[]][] = [
      ["litellm-live", "calculated", 0.0125, []],
      ["overrides-static", "calculated", 0, []],
      ["litellm-live", "pending", undefined, []],
      ["overrides-static", "pending", null, []],
      ["unavailable", "unavailable", undefined, []],
      ["unavailable", "unavailable", null, []],
      ["litellm-live", "calculated", undefined, ["cost_eur"]],
      ["litellm-live", "calculated", null, ["cost_eur"]],
      ["litellm-live", "pending", 0.01, ["cost_eur"]],
      ["unavailable", "unavailable", 0, ["cost_eur"]],
      ["litellm-live", "unavailable", undefined, ["pricing_version"]],
      ["unavailable", "pending", undefined, ["cost_status"]],
      ["unavailable", "calculated", 1, ["cost_status"]],
    ];
    for (const [pricing_version, cost_status, cost_eur, paths] of cases) {
      const { cost_eur: _, ...base } = LLM_CALL;
      const args = cost_eur === undefined
        ? { ...base, pricing_version, cost_status }
        : { ...base, pricing_version, cost_status, cost_eur };
      assert.deepEqual(
        issuePaths(EmitLlmCallArgs, args),
        paths,
        `${pricing_version} ${cost_status} ${cost_eur}`,
      );
    }
  });
  await t.step("cost_eur is a finite number >= 0", () => {
    for (const cost_eur of [-0.01, Infinity, NaN, "0.1"]) {
      assert.deepEqual(issuePaths(EmitLlmCallArgs, { ...LLM_CALL, cost_eur }), ["cost_eur"]);
    }
  });
  await t.step("token counts are integers from 0 to 2^31 - 1 (PostgreSQL integer)", () => {
    for (const prompt_tokens of [0, 1_000_000_000, 2 ** 31 - 1]) {
      assert.deepEqual(issuePaths(EmitLlmCallArgs, { ...LLM_CALL, prompt_tokens }), []);
    }
    for (const completion_tokens of [-1, 1.5, "1", 2 ** 31, null]) {
      assert.deepEqual(issuePaths(EmitLlmCallArgs, { ...LLM_CALL, completion_tokens }), [
        "completion_tokens",
      ]);
    }
  });
  await t.step("enums refuse other values", () => {
    assert.deepEqual(issuePaths(EmitLlmCallArgs, { ...LLM_CALL, pricing_version: "live" }), [
      "pricing_version",
    ]);
    assert.deepEqual(issuePaths(EmitLlmCallArgs, { ...LLM_CALL, cost_status: "done" }), [
      "cost_status",
    ]);
  });
  await t.step("the key must repeat span_id; model must be an identifier", () => {
    assert.deepEqual(issuePaths(EmitLlmCallArgs, { ...LLM_CALL, span_id: "aaaa" }), [
      "idempotency_key.span_id",
    ]);
    assert.deepEqual(issuePaths(EmitLlmCallArgs, { ...LLM_CALL, model: "" }), ["model"]);
  });
});

Deno.test("EmitConnectorCallArgs behaviour", async (t) => {
  await t.step("accepts valid arguments and defaults envelope to {}", () => {
    assert.deepEqual(EmitConnectorCallArgs.parse(CONNECTOR_CALL), {
      ...CONNECTOR_CALL,
      envelope: {},
    });
  });
  await t.step("applies the cost rules", () => {
    assert.deepEqual(issuePaths(EmitConnectorCallArgs, { ...CONNECTOR_CALL, cost_eur: 2 }), [
      "cost_eur",
    ]);
    assert.deepEqual(
      issuePaths(EmitConnectorCallArgs, { ...CONNECTOR_CALL, pricing_version: "overrides-static" }),
      ["pricing_version"],
    );
  });
  await t.step("refuses a bad envelope, capability or connector id", () => {
    assert.deepEqual(issuePaths(EmitConnectorCallArgs, { ...CONNECTOR_CALL, envelope: [] }), [
      "envelope",
    ]);
    assert.deepEqual(issuePaths(EmitConnectorCallArgs, { ...CONNECTOR_CALL, capability: "x" }), [
      "capability",
    ]);
    assert.deepEqual(
      issuePaths(EmitConnectorCallArgs, { ...CONNECTOR_CALL, connector_id: "3dx rest" }),
      ["connector_id"],
    );
  });
});

Deno.test("kernel API schemas convert to strict JSON Schema", () => {
  const schemas = [EmitTelemetryArgs, EmitGovernanceArgs, EmitLlmCallArgs, EmitConnectorCallArgs];
  for (const schema of schemas) {
    const json = z.toJSONSchema(schema as unknown as z.ZodType);
    assert.equal(json.additionalProperties, false);
    const key = json.properties!.idempotency_key as { additionalProperties?: unknown };
    assert.equal(key.additionalProperties, false);
  }
});
