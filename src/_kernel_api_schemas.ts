/**
 * Internal: the zod schemas of the kernel contracts (idempotency key and the four argument
 * types) with their cross-field rules. The public modules re-export them typed as
 * `ContractSchema<T>`; the emitters validate through them with `parseContract`.
 *
 * @module
 */
import { z } from "zod";
import {
  capability,
  costStatus,
  identifier,
  pricingVersion,
  sha256Hex,
  tenantId,
} from "./_contract_schema_fields.ts";
import { parseContract } from "./_contract_schema_parse.ts";
import { findNonJson } from "./_idempotency_json.ts";
import { TenantMismatch, ValidationError, type ValidationIssue } from "./errors.ts";
import { currentTenant } from "./tenant_context.ts";
import type { CostStatus, PricingVersion } from "./vocabulary.ts";

/** A token count: an integer from 0 to 2^31 - 1 (PostgreSQL `integer`). */
function tokenCount() {
  return z.int().min(0).max(2_147_483_647);
}

/**
 * A JSON object that PostgreSQL can store: plain JSON (see `_idempotency_json.ts`), no U+0000,
 * at most `MAX_JSON_DEPTH` levels. zod's record copies the object, which drops an own
 * `__proto__` key (its assignment sets the prototype instead): {@link parseEmitArgs} passes the
 * caller's checked object on instead of the copy, so what is stored matches the content hash.
 */
function jsonObject() {
  return z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
    const problem = findNonJson(value, true);
    if (problem !== undefined) {
      ctx.addIssue({ code: "custom", path: [...problem.path], message: problem.reason });
    }
  });
}

/**
 * The `v1:` key string of an already parsed key (see `idempotencyKeyToString`, which parses
 * first): each field percent-encoded like `encodeURIComponent`.
 *
 * @param key A parsed key (`tenant_id` lower case).
 * @returns `v1:<tenant_id>:<trace_id>:<span_id>:<event_type>:<content_hash>`.
 */
export function formatIdempotencyKey(key: z.output<typeof idempotencyKeySchema>): string {
  return `v1:${key.tenant_id}:${encodeURIComponent(key.trace_id)}:${
    encodeURIComponent(key.span_id)
  }:${encodeURIComponent(key.event_type)}:${key.content_hash}`;
}

/** The idempotency key (see `IdempotencyKey`). */
export const idempotencyKeySchema = z.strictObject({
  tenant_id: tenantId(),
  trace_id: identifier(),
  span_id: identifier(),
  event_type: identifier(),
  content_hash: sha256Hex(),
});

/**
 * A cost in EUR, null or absent (the cost rules say when), as `numeric(20, 10)` stores it
 * exactly: from 0 to below 10^10, at most 10 decimal places (PostgreSQL would round further
 * places away, and refuse 10^10 or more).
 */
export function costEur() {
  return z.number().min(0).lt(1e10, "must be below 10000000000 (numeric(20, 10))").refine(
    (value) => Number(value.toFixed(10)) === value,
    "must have at most 10 decimal places (numeric(20, 10) would round it)",
  ).nullable().optional();
}

const cost = {
  pricing_version: pricingVersion(),
  cost_eur: costEur(),
  cost_status: costStatus(),
};

/** `emitTelemetry` arguments. */
export const telemetryArgsSchema = z.strictObject({
  event_type: identifier(),
  span_id: identifier(),
  capability: capability(),
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
  capability: capability(),
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
 * @throws {TenantMismatch} When called inside `withTenant` of another tenant.
 */
export function parseEmitArgs(kind: EmitKind, args: unknown, tenantId: string): EmitArgs {
  assertTenantContext(tenantId);
  const { schema, contract } = EMIT_KINDS[kind];
  const parsed: EmitArgs = parseContract(schema, contract, args);
  // The JSON objects as given (checked above), not zod's copies (see jsonObject).
  const given = args as Record<string, unknown>;
  if ("payload" in parsed && given.payload !== undefined) {
    parsed.payload = given.payload as Record<string, unknown>;
  }
  if ("envelope" in parsed && given.envelope !== undefined) {
    parsed.envelope = given.envelope as Record<string, unknown>;
  }
  if (parsed.idempotency_key.tenant_id !== tenantId) {
    throw new ValidationError(contract, [
      { path: "idempotency_key.tenant_id", message: "must equal the emitter's tenant" },
    ]);
  }
  return parsed;
}

const BatchEventSchema = z.strictObject({
  kind: z.enum(Object.keys(EMIT_KINDS) as EmitKind[]),
  args: z.unknown(),
});

/** One parsed event of a batch. */
export interface ParsedEmit {
  readonly kind: EmitKind;
  readonly args: EmitArgs;
}

/**
 * Validate a whole batch before anything is written: every problem of every event is reported
 * in one `ValidationError` (contract `"KernelEvent[]"`, paths such as `"3.args.span_id"`).
 *
 * @param events The untrusted batch: `{ kind, args }` objects.
 * @param tenantId The emitter's tenant (lowercase).
 * @returns The parsed events, in order.
 * @throws {ValidationError} When any event is invalid.
 * @throws {TenantMismatch} When called inside `withTenant` of another tenant.
 */
export function parseEmitBatch(events: unknown, tenantId: string): ParsedEmit[] {
  assertTenantContext(tenantId);
  if (!Array.isArray(events)) {
    throw new ValidationError("KernelEvent[]", [{ path: "", message: "expected an array" }]);
  }
  const parsed: ParsedEmit[] = [];
  const issues: ValidationIssue[] = [];
  events.forEach((event: unknown, index) => {
    try {
      const { kind, args } = parseContract(BatchEventSchema, "KernelEvent", event);
      parsed.push({ kind, args: parseEmitArgs(kind, args, tenantId) });
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const prefix = error.contract === "KernelEvent" ? `${index}` : `${index}.args`;
      for (const issue of error.issues) {
        const path = issue.path === "" ? prefix : `${prefix}.${issue.path}`;
        issues.push({ path, message: issue.message });
      }
    }
  });
  if (issues.length > 0) throw new ValidationError("KernelEvent[]", issues);
  return parsed;
}

/**
 * Refuse a write inside a tenant context (`withTenant`) of another tenant than the emitter's.
 * Every write of both emitters calls it before anything else.
 *
 * @param tenantId The emitter's tenant (lowercase).
 * @throws {TenantMismatch} When a tenant context is current and names another tenant.
 */
export function assertTenantContext(tenantId: string): void {
  const context = currentTenant();
  if (context !== undefined && context !== tenantId) throw new TenantMismatch(tenantId, context);
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
    pricing_version: PricingVersion;
    cost_eur?: number | null;
    cost_status: CostStatus;
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
