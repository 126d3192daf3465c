/**
 * Internal: the zod schemas of the kernel contracts (idempotency key and the four argument
 * types) with their cross-field rules. The public modules re-export them typed as
 * `ContractSchema<T>`; the emitters validate through them with `parseContract`.
 *
 * @module
 */
import { z } from "zod";
import { CAPABILITY_PATTERN, isCapability } from "./capabilities.ts";
import { findNonJson } from "./_json.ts";
import { parseContract } from "./_validate.ts";
import { ValidationError } from "./errors.ts";

/** Longest identifier (trace_id, span_id, event_type, model, connector_id), in characters. */
export const IDENTIFIER_MAX_LENGTH = 128;

/** Where a cost comes from (the `PricingVersion` values). */
export const PRICING_VERSIONS = ["litellm-live", "overrides-static", "unavailable"] as const;

/** Where a cost stands (the `CostStatus` values). */
export const COST_STATUSES = ["pending", "calculated", "unavailable"] as const;

const NIL_OR_MAX_UUID = /^(?:0{8}-0{4}-0{4}-0{4}-0{12}|f{8}-f{4}-f{4}-f{4}-f{12})$/;

/** 1 to 128 printable ASCII characters without spaces, so a key always fits a btree entry. */
function identifier() {
  return z.string()
    .min(1)
    .max(IDENTIFIER_MAX_LENGTH)
    .regex(/^[\x21-\x7e]*$/, "expected printable ASCII characters without spaces");
}

/** A token count: an integer from 0 to 2^31 - 1 (PostgreSQL `integer`). */
function tokenCount() {
  return z.int().min(0).max(2_147_483_647);
}

/** A JSON object that PostgreSQL can store: plain JSON (see `_json.ts`), no U+0000. */
function jsonObject() {
  return z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
    const problem = findNonJson(value, true);
    if (problem !== undefined) {
      ctx.addIssue({ code: "custom", path: [...problem.path], message: problem.reason });
    }
  });
}

/** A tenant id: an RFC 9562 UUID, any case, lowercased; not the nil or max UUID. */
export const tenantIdSchema = z.uuid().toLowerCase().refine(
  (id) => !NIL_OR_MAX_UUID.test(id),
  "the nil and max UUIDs are not tenant ids",
);

/** The idempotency key (see `IdempotencyKey`). */
export const idempotencyKeySchema = z.strictObject({
  tenant_id: tenantIdSchema,
  trace_id: identifier(),
  span_id: identifier(),
  event_type: identifier(),
  content_hash: z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex digits"),
});

const capability = z.string()
  .max(IDENTIFIER_MAX_LENGTH)
  .regex(CAPABILITY_PATTERN, {
    message: 'expected a dotted lowercase capability such as "read.parts"',
    abort: true,
  })
  .refine(isCapability, 'expected a built-in capability or an extension starting with "x."');

const cost = {
  pricing_version: z.enum(PRICING_VERSIONS),
  cost_eur: z.number().min(0).nullable().optional(),
  cost_status: z.enum(COST_STATUSES),
};

/** `emitTelemetry` arguments. */
export const telemetryArgsSchema = z.strictObject({
  event_type: identifier(),
  span_id: identifier(),
  capability,
  payload: jsonObject().default({}),
  idempotency_key: idempotencyKeySchema,
}).superRefine((args, ctx) => {
  sameAs(ctx, args.idempotency_key.span_id, args.span_id, "span_id", "span_id");
  sameAs(ctx, args.idempotency_key.event_type, args.event_type, "event_type", "event_type");
});

/** `emitGovernance` arguments. */
export const governanceArgsSchema = z.strictObject({
  governance_event_type: identifier(),
  span_id: identifier(),
  payload: jsonObject().default({}),
  idempotency_key: idempotencyKeySchema,
}).superRefine((args, ctx) => {
  sameAs(ctx, args.idempotency_key.span_id, args.span_id, "span_id", "span_id");
  sameAs(
    ctx,
    args.idempotency_key.event_type,
    args.governance_event_type,
    "event_type",
    "governance_event_type",
  );
});

/** `recordLlmCall` arguments. */
export const llmCallArgsSchema = z.strictObject({
  span_id: identifier(),
  model: identifier(),
  prompt_tokens: tokenCount(),
  completion_tokens: tokenCount(),
  ...cost,
  idempotency_key: idempotencyKeySchema,
}).superRefine((args, ctx) => {
  sameAs(ctx, args.idempotency_key.span_id, args.span_id, "span_id", "span_id");
  costRules(ctx, args);
});

/** `recordConnectorCall` arguments. */
export const connectorCallArgsSchema = z.strictObject({
  span_id: identifier(),
  connector_id: identifier(),
  capability,
  envelope: jsonObject().default({}),
  ...cost,
  idempotency_key: idempotencyKeySchema,
}).superRefine((args, ctx) => {
  sameAs(ctx, args.idempotency_key.span_id, args.span_id, "span_id", "span_id");
  costRules(ctx, args);
});

/** The four kinds of kernel events, one per `KernelEmitter` method: schema, name, table. */
export const EMIT_KINDS = {
  telemetry: {
    schema: telemetryArgsSchema,
    contract: "EmitTelemetryArgs",
    table: "telemetry_events",
  },
  governance: {
    schema: governanceArgsSchema,
    contract: "EmitGovernanceArgs",
    table: "telemetry_events",
  },
  llm_call: { schema: llmCallArgsSchema, contract: "EmitLlmCallArgs", table: "llm_calls" },
  connector_call: {
    schema: connectorCallArgsSchema,
    contract: "EmitConnectorCallArgs",
    table: "connector_calls",
  },
} as const;

/** A kind of kernel event (`"telemetry"`, `"governance"`, `"llm_call"`, `"connector_call"`). */
export type EmitKind = keyof typeof EMIT_KINDS;

/** Parsed arguments of any kind. */
export type EmitArgs = z.output<typeof EMIT_KINDS[EmitKind]["schema"]>;

/**
 * What every emitter checks before it stores anything: the argument's contract, then that its
 * key belongs to the emitter's tenant.
 *
 * @param kind Which method was called.
 * @param args The untrusted arguments.
 * @param tenantId The emitter's tenant (lowercase).
 * @returns The parsed (defaulted) arguments.
 * @throws {ValidationError} When `args` breaks its contract or the key is another tenant's.
 */
export function parseEmitArgs(kind: EmitKind, args: unknown, tenantId: string): EmitArgs {
  const { schema, contract } = EMIT_KINDS[kind];
  const parsed: EmitArgs = parseContract(schema, contract, args);
  if (parsed.idempotency_key.tenant_id !== tenantId) {
    throw new ValidationError(contract, [
      { path: "idempotency_key.tenant_id", message: "must equal the emitter's tenant" },
    ]);
  }
  return parsed;
}

/** A key field must repeat the argument it identifies. */
function sameAs(
  ctx: z.RefinementCtx,
  keyValue: string,
  argValue: string,
  keyField: "span_id" | "event_type",
  argField: string,
): void {
  if (keyValue === argValue) return;
  ctx.addIssue({
    code: "custom",
    path: ["idempotency_key", keyField],
    message: `must equal "${argField}"`,
  });
}

/**
 * The cost rules: "calculated" needs a cost; "pending" and "unavailable" carry none; the
 * pricing version is "unavailable" exactly when the cost status is.
 */
function costRules(
  ctx: z.RefinementCtx,
  args: {
    pricing_version: typeof PRICING_VERSIONS[number];
    cost_eur?: number | null;
    cost_status: typeof COST_STATUSES[number];
  },
): void {
  const hasCost = args.cost_eur !== undefined && args.cost_eur !== null;
  if (args.cost_status === "calculated" && !hasCost) {
    ctx.addIssue({
      code: "custom",
      path: ["cost_eur"],
      message: 'is required when cost_status is "calculated"',
    });
  }
  if (args.cost_status !== "calculated" && hasCost) {
    ctx.addIssue({
      code: "custom",
      path: ["cost_eur"],
      message: `must be null or absent when cost_status is "${args.cost_status}"`,
    });
  }
  if (args.cost_status === "unavailable" && args.pricing_version !== "unavailable") {
    ctx.addIssue({
      code: "custom",
      path: ["pricing_version"],
      message: 'must be "unavailable" when cost_status is "unavailable"',
    });
  }
  if (args.pricing_version === "unavailable" && args.cost_status !== "unavailable") {
    ctx.addIssue({
      code: "custom",
      path: ["cost_status"],
      message: 'must be "unavailable" when pricing_version is "unavailable"',
    });
  }
}
