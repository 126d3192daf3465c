/**
 * The tenant middleware for fetch handlers (`Deno.serve`, Hono's `app.fetch`, Node through an
 * adapter): tenant and trace context from request headers, failing closed with RFC 9457
 * problem responses.
 *
 * @module
 */
import { z } from "zod";
import { actorKind, parseTenantId } from "./_contract_schema_fields.ts";
import { CORE_CALLER_FORMAT, problemResponse, type Refusal } from "./_middleware_problem.ts";
import { trimOws } from "./_trace_context_w3c.ts";
import { parseContract } from "./_contract_schema_parse.ts";
import { ValidationError } from "./errors.ts";
import { withTenant } from "./tenant_context.ts";
import { extractTraceContext, formatTraceparent, withTraceContext } from "./trace_context.ts";
import type { ActorKind } from "./vocabulary.ts";

/** Who called: the `X-PLM-Core-Caller` header, parsed by {@link parseCoreCaller}. */
export interface CoreCaller {
  /** The calling product line, lowercase (`"workbench"`, `"skill-kernel"`). */
  readonly productLine: string;
  /** What kind of actor acts (the `actor_kind` of the schema). */
  readonly actorKind: ActorKind;
  /** The actor's id within its kind (`"u-42"`). */
  readonly actorId: string;
}

/** Options of {@link plmTenantMiddleware}. */
export interface PlmTenantMiddlewareOptions {
  /**
   * Routes served without `X-PLM-Tenant-Id`: exact URL pathnames (`"/healthz"`), or a
   * predicate of the request.
   *
   * @default {[]}
   */
  readonly publicRoutes?: readonly string[] | ((request: Request) => boolean);
  /**
   * Refuse requests to non-public routes that carry no `X-PLM-Core-Caller`.
   *
   * @default {false}
   */
  readonly requireCoreCaller?: boolean;
}

const CoreCallerSchema = z.strictObject({
  productLine: z.string().regex(
    /^[a-z][a-z0-9-]{0,62}$/,
    'expected a lowercase product line such as "workbench" (letters, digits, "-")',
  ),
  actorKind: actorKind(),
  actorId: z.string().regex(
    /^[A-Za-z0-9._@:-]{1,128}$/,
    'expected 1 to 128 characters of letters, digits, ".", "_", "@", ":", "-"',
  ),
});
const CORE_CALLER_SHAPE = /^([^;]*);[ \t]*actor=([^:]*):(.*)$/s;
const OPTION_NAMES = new Set(["publicRoutes", "requireCoreCaller"]);

/**
 * Parse an `X-PLM-Core-Caller` header: `<product-line>; actor=<kind>:<actor-id>`, e.g.
 * `workbench; actor=human:u-42`. SP/HTAB are allowed at the ends and after `;`; everything else
 * is exact (lowercase product line and kind, no other parameters, one header value).
 *
 * @param header The header value.
 * @returns The frozen caller.
 * @throws {ValidationError} Contract `"CoreCaller"`, naming the malformed part.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCoreCaller } from "./middleware.ts";
 *
 * assert.deepEqual(parseCoreCaller("workbench; actor=human:u-42"), {
 *   productLine: "workbench",
 *   actorKind: "human",
 *   actorId: "u-42",
 * });
 * assert.throws(() => parseCoreCaller("workbench"), { code: "VALIDATION_FAILED" });
 * ```
 */
export function parseCoreCaller(header: string): CoreCaller {
  const shape = CORE_CALLER_SHAPE.exec(trimOws(header));
  if (shape === null) {
    throw new ValidationError("CoreCaller", [{
      path: "",
      message: `expected ${CORE_CALLER_FORMAT}`,
    }]);
  }
  const [, productLine, actorKind, actorId] = shape;
  return Object.freeze(parseContract(CoreCallerSchema, "CoreCaller", {
    productLine: productLine.replace(/[ \t]+$/, ""),
    actorKind,
    actorId,
  }));
}

/**
 * The request headers the middleware reads, plus `idempotency-key`, lowercase: give them to a
 * CORS layer that wraps the middleware (`allowHeaders`).
 *
 * @returns A new array.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { corsAllowedHeaders } from "./middleware.ts";
 *
 * assert.ok(corsAllowedHeaders().includes("x-plm-tenant-id"));
 * ```
 */
export function corsAllowedHeaders(): string[] {
  return ["x-plm-tenant-id", "x-plm-core-caller", "traceparent", "tracestate", "idempotency-key"];
}

/**
 * Wrap a fetch handler so that it runs inside {@link withTenant} (from `X-PLM-Tenant-Id`) and
 * {@link withTraceContext} (the server span from `traceparent`/`tracestate`; an invalid or
 * missing `traceparent` starts a new trace). Refusals are `400` `application/problem+json`
 * (RFC 9457) and the handler is not called: a missing tenant on a non-public route, a malformed
 * tenant or `X-PLM-Core-Caller` on any route, a missing caller when `requireCoreCaller` is set.
 * Problem `type`s are this page with the fragments `#tenant-missing`, `#tenant-invalid`,
 * `#caller-missing`, `#caller-invalid`. Every response carries the server span's `traceparent`.
 * Extra handler arguments (`Deno.serve`'s `info`, Hono's `env`) are passed through.
 *
 * @param handler The fetch handler to protect.
 * @param options Public routes and whether the caller header is required.
 * @returns A named async fetch handler.
 * @throws {TypeError} When `handler` is not a function or an option is unknown or malformed.
 *
 * @example Refuse a request without a tenant
 * ```ts
 * import assert from "node:assert/strict";
 * import { plmTenantMiddleware } from "./middleware.ts";
 * import { requireTenant } from "./tenant_context.ts";
 *
 * const handler = plmTenantMiddleware(() => new Response(requireTenant()), {
 *   publicRoutes: ["/healthz"],
 * });
 * const refused = await handler(new Request("http://localhost/parts"));
 * assert.equal(refused.status, 400);
 * assert.equal(refused.headers.get("content-type"), "application/problem+json");
 * await refused.body?.cancel();
 *
 * const served = await handler(new Request("http://localhost/parts", {
 *   headers: { "x-plm-tenant-id": "0b9c2f4e-6a1d-4c3e-9f7a-2d5b8e1c4a60" },
 * }));
 * assert.equal(await served.text(), "0b9c2f4e-6a1d-4c3e-9f7a-2d5b8e1c4a60");
 * assert.match(served.headers.get("traceparent") ?? "", /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
 * ```
 */
export function plmTenantMiddleware<A extends unknown[]>(
  handler: (request: Request, ...rest: A) => Response | Promise<Response>,
  options: PlmTenantMiddlewareOptions = {},
): (request: Request, ...rest: A) => Promise<Response> {
  if (typeof handler !== "function") {
    throw new TypeError(
      "Cannot build plmTenantMiddleware: handler must be a fetch handler function",
    );
  }
  const isPublic = publicRouteMatcher(checkOptions(options).publicRoutes ?? []);
  const requireCoreCaller = options.requireCoreCaller ?? false;

  return async function plmTenantMiddlewareHandler(request: Request, ...rest: A) {
    const trace = extractTraceContext(request.headers);
    const traceparent = formatTraceparent(trace);
    const checked = checkHeaders(request.headers, !isPublic(request), requireCoreCaller);
    if ("problem" in checked) return problemResponse(checked, traceparent);
    const { tenantId } = checked;
    const run = () => handler(request, ...rest);
    const response = await withTraceContext(
      trace,
      () => tenantId === undefined ? run() : withTenant(tenantId, run),
    );
    return withHeader(response, "traceparent", traceparent);
  };
}

/** Reject unknown or malformed options with a `TypeError`. */
function checkOptions(options: PlmTenantMiddlewareOptions): PlmTenantMiddlewareOptions {
  const fail = (what: string) => new TypeError(`Cannot build plmTenantMiddleware: ${what}`);
  if (typeof options !== "object" || options === null) throw fail("options must be an object");
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.has(name)) throw fail(`unknown option "${name}"`);
  }
  const { publicRoutes, requireCoreCaller } = options;
  if (requireCoreCaller !== undefined && typeof requireCoreCaller !== "boolean") {
    throw fail("requireCoreCaller must be a boolean");
  }
  if (publicRoutes === undefined || typeof publicRoutes === "function") return options;
  if (!Array.isArray(publicRoutes)) {
    throw fail("publicRoutes must be an array of paths or a function");
  }
  for (const route of publicRoutes) {
    if (typeof route !== "string" || !/^\/[^?#\s]*$/.test(route)) {
      throw fail(`public route "${String(route)}" must be a URL path starting with "/" (no query)`);
    }
  }
  return options;
}

/** A predicate telling whether a request targets a public route. */
function publicRouteMatcher(
  routes: readonly string[] | ((request: Request) => boolean),
): (request: Request) => boolean {
  if (typeof routes === "function") return routes;
  if (routes.length === 0) return () => false;
  const paths = new Set(routes);
  return (request) => paths.has(new URL(request.url).pathname);
}

/**
 * Check the tenant and caller headers: the tenant id to run with (none on a public route
 * without one), or the problem that refuses the request.
 */
function checkHeaders(
  headers: Headers,
  tenantRequired: boolean,
  requireCoreCaller: boolean,
): { tenantId: string | undefined } | Refusal {
  const tenantHeader = headers.get("x-plm-tenant-id");
  const callerHeader = headers.get("x-plm-core-caller");
  let tenantId: string | undefined;
  try {
    tenantId = tenantHeader === null ? undefined : parseTenantId(tenantHeader);
  } catch {
    return { problem: "tenant-invalid" };
  }
  if (tenantId === undefined && tenantRequired) return { problem: "tenant-missing" };
  if (callerHeader === null) {
    return requireCoreCaller && tenantRequired ? { problem: "caller-missing" } : { tenantId };
  }
  try {
    parseCoreCaller(callerHeader);
  } catch (error) {
    const issues = (error as ValidationError).issues;
    return { problem: "caller-invalid", reason: issues.map((i) => i.path || "shape").join(", ") };
  }
  return { tenantId };
}

/** Set a header, copying the response first when its headers are immutable (`fetch`, redirects). */
function withHeader(response: Response, name: string, value: string): Response {
  try {
    response.headers.set(name, value);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set(name, value);
    return copy;
  }
}
