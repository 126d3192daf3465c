/**
 * Internal: the refusals of the tenant middleware and the one function that turns them into
 * RFC 9457 `application/problem+json` responses.
 *
 * @module
 */
import { ActorKind } from "./vocabulary.ts";

/** The documented shape of `X-PLM-Core-Caller`. */
export const CORE_CALLER_FORMAT = `"<product-line>; actor=<${
  Object.values(ActorKind).join("|")
}>:<actor-id>"`;
const PROBLEM_BASE = "https://jsr.io/@tracepulse/plm-shared/doc/~/plmTenantMiddleware#";
const PROBLEMS = {
  "tenant-missing": ["Tenant id missing", "Send the tenant's UUID in the X-PLM-Tenant-Id header"],
  "tenant-invalid": [
    "Tenant id invalid",
    "X-PLM-Tenant-Id must hold one UUID, other than the nil and max UUIDs",
  ],
  "caller-missing": [
    "Core caller missing",
    `Send the X-PLM-Core-Caller header as ${CORE_CALLER_FORMAT}`,
  ],
  "caller-invalid": ["Core caller invalid", `X-PLM-Core-Caller must be ${CORE_CALLER_FORMAT}`],
} as const;
/** Why a request is refused; `reason` names the malformed parts, never their values. */
export type Refusal = { readonly problem: keyof typeof PROBLEMS; readonly reason?: string };
/**
 * The one way a refusal becomes a response: RFC 9457 problem+json, status 400, with the
 * server span's `traceparent`.
 *
 * @param refusal Which problem, and the malformed parts (names only).
 * @param traceparent The server span's `traceparent`.
 * @returns The response.
 */
export function problemResponse({ problem, reason }: Refusal, traceparent: string): Response {
  const [title, detail] = PROBLEMS[problem];
  const body = {
    type: PROBLEM_BASE + problem,
    title,
    status: 400,
    detail: reason === undefined ? detail : `${detail} (malformed: ${reason})`,
  };
  return new Response(JSON.stringify(body), {
    status: 400,
    headers: { "content-type": "application/problem+json", traceparent },
  });
}
