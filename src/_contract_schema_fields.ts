/**
 * Internal: the field rules the contract schemas share, each written once — tenant ids,
 * identifiers, W3C trace and span ids, SHA-256 digests, capability tags and the wire enums of
 * the shared vocabulary. Each rule is a function that returns a fresh zod schema.
 *
 * @module
 */
import { z } from "zod";
import { parseContract } from "./_contract_schema_parse.ts";
import { SPAN_ID_PATTERN, TRACE_ID_PATTERN } from "./_trace_context_w3c.ts";
import {
  ActorKind,
  CAPABILITY_PATTERN,
  CostStatus,
  isCapability,
  PricingVersion,
  QualityLevel,
} from "./vocabulary.ts";

/** Longest identifier (trace_id, span_id, event_type, model, connector_id), in characters. */
export const IDENTIFIER_MAX_LENGTH = 128;

const NIL_OR_MAX_UUID = /^(?:0{8}-0{4}-0{4}-0{4}-0{12}|f{8}-f{4}-f{4}-f{4}-f{12})$/;

/** A tenant id: an RFC 9562 UUID, any case, lowercased; not the nil or max UUID. */
export function tenantId() {
  return z.uuid('expected a UUID such as "0b9c2f4e-6a1d-4c3e-9f7a-2d5b8e1c4a60"')
    .toLowerCase()
    .refine((id) => !NIL_OR_MAX_UUID.test(id), "the nil and max UUIDs are not tenant ids");
}

/** 1 to 128 printable ASCII characters without spaces, so a key always fits a btree entry. */
export function identifier() {
  return z.string()
    .min(1)
    .max(IDENTIFIER_MAX_LENGTH)
    .regex(/^[\x21-\x7e]*$/, "expected printable ASCII characters without spaces");
}

/** A W3C trace id: 32 lowercase hex digits, not all zero. */
export function traceId() {
  return z.string().regex(TRACE_ID_PATTERN, "expected 32 lowercase hex digits, not all zero");
}

/** A W3C span id: 16 lowercase hex digits, not all zero. */
export function spanId() {
  return z.string().regex(SPAN_ID_PATTERN, "expected 16 lowercase hex digits, not all zero");
}

/** A SHA-256 digest: 64 lowercase hex digits. */
export function sha256Hex() {
  return z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex digits");
}

/** A capability tag: built-in, or an extension starting with `x.` (see `isCapability`). */
export function capability() {
  return z.string()
    .max(IDENTIFIER_MAX_LENGTH)
    .regex(CAPABILITY_PATTERN, {
      message: 'expected a dotted lowercase capability such as "read.parts"',
      abort: true,
    })
    .refine(isCapability, 'expected a built-in capability or an extension starting with "x."');
}

/** A `PricingVersion` value. */
export function pricingVersion() {
  return wireEnum(PricingVersion);
}

/** A `CostStatus` value. */
export function costStatus() {
  return wireEnum(CostStatus);
}

/** A `QualityLevel` value. */
export function qualityLevel() {
  return wireEnum(QualityLevel);
}

/** An `ActorKind` value. */
export function actorKind() {
  return wireEnum(ActorKind);
}

const TenantIdSchema = z.strictObject({ tenantId: tenantId() });

/**
 * Check a tenant id: an RFC 9562 UUID other than the nil and max UUIDs, any case.
 *
 * @param id The untrusted id.
 * @returns The id in lowercase.
 * @throws {ValidationError} Contract `"TenantId"`, path `"tenantId"`, when it is not one.
 */
export function parseTenantId(id: string): string {
  return parseContract(TenantIdSchema, "TenantId", { tenantId: id }).tenantId;
}

/** One of a vocabulary's values; the message lists them (`expected "a", "b" or "c"`). */
function wireEnum<const T extends Readonly<Record<string, string>>>(vocabulary: T) {
  const values = Object.values(vocabulary).map((value) => `"${value}"`);
  const expected = `${values.slice(0, -1).join(", ")} or ${values.at(-1)}`;
  return z.enum(vocabulary, { error: `expected ${expected}` });
}
