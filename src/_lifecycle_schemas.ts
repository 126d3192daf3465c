/**
 * Internal: the schemas of the lifecycle calls (`startRun`, `endRun`, `raiseQuality`,
 * `recordArtifact`, `settleCost`, `runCard`) and the one validation path both emitters take:
 * the tenant context first, then the contract, then the trace from the current trace context
 * when the caller left it out.
 *
 * @module
 */
import { z } from "zod";
import {
  actorKind,
  identifier,
  qualityLevel,
  sha256Hex,
  tenantId,
} from "./_contract_schema_fields.ts";
import { parseContract } from "./_contract_schema_parse.ts";
import { assertTenantContext, costEur, idempotencyKeySchema } from "./_kernel_api_schemas.ts";
import { ValidationError } from "./errors.ts";
import { currentTraceContext } from "./trace_context.ts";
import { QualityLevel } from "./vocabulary.ts";

/** Quality levels in their order: a run's level only moves to a later one. */
const QUALITY_ORDER: readonly string[] = Object.values(QualityLevel);

/**
 * Compare two quality levels by their order.
 *
 * @returns A negative number when `a` comes before `b`, 0 when equal, positive after.
 */
export function compareQuality(a: string, b: string): number {
  return QUALITY_ORDER.indexOf(a) - QUALITY_ORDER.indexOf(b);
}

/** Text PostgreSQL stores as `text`: no U+0000, at most `max` characters. */
function text(max: number) {
  return z.string().min(1).max(max).refine((value) => !value.includes("\u0000"), {
    message: "must not contain U+0000",
  });
}

const trace = { trace_id: identifier().optional() };

/** The lifecycle contracts by name: what each call accepts. */
export const LIFECYCLE_SCHEMAS = {
  StartRunArgs: z.strictObject({
    ...trace,
    product_line: identifier(),
    actor_kind: actorKind(),
    actor_id: identifier(),
  }),
  EndRunArgs: z.strictObject({ ...trace, quality_level: qualityLevel().optional() }),
  RaiseQualityArgs: z.strictObject({ ...trace, quality_level: qualityLevel() }),
  RecordArtifactArgs: z.strictObject({
    ...trace,
    // What `head` returns has more fields (`key`, `lastModified`): only these are recorded.
    artifact: z.object({
      uri: text(4096),
      sha256: sha256Hex(),
      size: z.int().min(0),
      contentType: text(255),
      retentionUntil: z.date().refine((date) => !Number.isNaN(date.getTime()), {
        message: "must be a valid date",
      }).optional(),
    }),
  }),
  SettleCostArgs: z.strictObject({
    table: z.enum(["llm_calls", "connector_calls"]),
    idempotency_key: idempotencyKeySchema,
    cost_status: z.enum(["calculated", "unavailable"]),
    cost_eur: costEur(),
  }).superRefine((args, ctx) => {
    const hasCost = args.cost_eur !== undefined && args.cost_eur !== null;
    if (hasCost !== (args.cost_status === "calculated")) {
      ctx.addIssue({
        code: "custom",
        path: ["cost_eur"],
        message: 'is required exactly when cost_status is "calculated"',
      });
    }
  }),
  RunCardArgs: z.strictObject({ ...trace }),
} as const;

const TenantRegistrationSchema = z.strictObject({ id: tenantId(), name: text(256) });

/**
 * Check a tenant registration: a tenant id and a name of 1 to 256 characters.
 *
 * @param tenant The untrusted `{ id, name }`.
 * @returns It parsed, the id in lowercase.
 * @throws {ValidationError} Contract `"TenantRegistration"`.
 */
export function parseTenantRegistration(tenant: unknown): { id: string; name: string } {
  return parseContract(TenantRegistrationSchema, "TenantRegistration", tenant);
}

/** The name of a lifecycle contract. */
export type LifecycleContract = keyof typeof LIFECYCLE_SCHEMAS;

/** Parsed arguments of a lifecycle call, with the trace resolved where the call has one. */
export type ParsedLifecycleArgs<C extends LifecycleContract> =
  & Omit<z.output<typeof LIFECYCLE_SCHEMAS[C]>, "trace_id">
  & (C extends "SettleCostArgs" ? unknown : { trace_id: string });

/**
 * What every lifecycle call checks before it touches its store: the tenant context, the
 * contract, the key's tenant (`settleCost`), and the trace (the current trace context's when
 * left out).
 *
 * @param contract The call's contract.
 * @param args The untrusted arguments.
 * @param tenantId The emitter's tenant (lowercase).
 * @returns The parsed arguments with `trace_id` set.
 * @throws {TenantMismatch} When called inside `withTenant` of another tenant.
 * @throws {ValidationError} When `args` breaks the contract, the key is another tenant's, or
 *   no trace is given and none is current.
 */
export function parseLifecycleArgs<C extends LifecycleContract>(
  contract: C,
  args: unknown,
  tenantId: string,
): ParsedLifecycleArgs<C> {
  assertTenantContext(tenantId);
  const parsed = parseContract(LIFECYCLE_SCHEMAS[contract], contract, args) as Record<
    string,
    unknown
  >;
  if (contract === "SettleCostArgs") {
    const key = parsed.idempotency_key as { tenant_id: string };
    if (key.tenant_id !== tenantId) {
      throw new ValidationError(contract, [
        { path: "idempotency_key.tenant_id", message: "must equal the emitter's tenant" },
      ]);
    }
    return parsed as ParsedLifecycleArgs<C>;
  }
  const traceId = parsed.trace_id ?? currentTraceContext()?.traceId;
  if (traceId === undefined) {
    throw new ValidationError(contract, [
      { path: "trace_id", message: "is required outside a trace context (withTraceContext)" },
    ]);
  }
  return { ...parsed, trace_id: traceId } as unknown as ParsedLifecycleArgs<C>;
}
