/**
 * Every error class of plm-shared. Each has a stable `code` (SCREAMING_SNAKE) that callers
 * may switch on; messages tell the caller what to fix and never carry payloads, SQL parameters
 * or secrets.
 *
 * @module
 */

/** One problem found while validating an input: where it is and what is wrong. */
export interface ValidationIssue {
  /** Dotted path of the offending field (`"items.0.score"`), `""` for the whole value. */
  readonly path: string;
  /** What is wrong with it, without echoing the value. */
  readonly message: string;
}

/**
 * An argument did not match its contract (unknown field, wrong type, broken cross-field rule).
 * Nothing was written.
 *
 * @example Switch on the code
 * ```ts
 * import assert from "node:assert/strict";
 * import { ValidationError } from "./errors.ts";
 *
 * const error = new ValidationError("EmitTelemetryArgs", [
 *   { path: "span_id", message: "expected string, received number" },
 * ]);
 * assert.equal(error.code, "VALIDATION_FAILED");
 * assert.match(error.message, /"span_id"/);
 * ```
 */
export class ValidationError extends TypeError {
  /** Stable error code. */
  readonly code = "VALIDATION_FAILED" as const;
  /** Name of the contract that was checked (`"EmitTelemetryArgs"`). */
  readonly contract: string;
  /** Every problem found, at least one. */
  readonly issues: readonly ValidationIssue[];

  /**
   * Creates the error.
   *
   * @param contract Name of the contract that was checked.
   * @param issues Every problem found.
   * @param options Standard error options (`cause`).
   */
  constructor(contract: string, issues: readonly ValidationIssue[], options?: ErrorOptions) {
    const detail = issues.map((issue) => `"${issue.path}" ${issue.message}`).join("; ");
    super(`Invalid ${contract}: ${detail}`, options);
    this.name = "ValidationError";
    this.contract = contract;
    this.issues = Object.freeze([...issues]);
  }
}

/**
 * A value cannot be hashed as JSON (NaN, Infinity, BigInt, undefined, a function, a cycle,
 * a lone surrogate, ...). It is refused, never hashed silently.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NonJsonValueError } from "./errors.ts";
 *
 * const error = new NonJsonValueError("$.price", "NaN is not a JSON number");
 * assert.equal(error.code, "NON_JSON_VALUE");
 * assert.equal(error.path, "$.price");
 * ```
 */
export class NonJsonValueError extends TypeError {
  /** Stable error code. */
  readonly code = "NON_JSON_VALUE" as const;
  /** JSONPath-like location of the offending value (`"$.items[2]"`). */
  readonly path: string;

  /**
   * Creates the error.
   *
   * @param path Location of the offending value.
   * @param reason Why it is not JSON.
   */
  constructor(path: string, reason: string) {
    super(`Cannot hash payload: ${reason} at "${path}"`);
    this.name = "NonJsonValueError";
    this.path = path;
  }
}

/**
 * Same logical identity (tenant, trace, span, event type) was emitted before with other
 * content (HTTP 409). The stored event is unchanged.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IdempotencyConflict } from "./errors.ts";
 *
 * const error = new IdempotencyConflict("llm_calls", "v1:...");
 * assert.equal(error.code, "IDEMPOTENCY_CONFLICT");
 * assert.equal(error.table, "llm_calls");
 * ```
 */
export class IdempotencyConflict extends Error {
  /** Stable error code. */
  readonly code = "IDEMPOTENCY_CONFLICT" as const;
  /** Table (event kind) in which the conflicting event lives. */
  readonly table: string;
  /** The refused idempotency key, as `idempotencyKeyToString` gives it. */
  readonly idempotencyKey: string;

  /**
   * Creates the error.
   *
   * @param table Table in which the conflicting event lives.
   * @param idempotencyKey The refused key string.
   * @param options Standard error options (`cause`).
   */
  constructor(table: string, idempotencyKey: string, options?: ErrorOptions) {
    super(
      `Idempotency conflict in "${table}": an event with the same tenant, trace, span and event type but other content exists; send a new span_id or the same content`,
      options,
    );
    this.name = "IdempotencyConflict";
    this.table = table;
    this.idempotencyKey = idempotencyKey;
  }
}

/** One problem in a capabilities YAML file, with its position (1-based). */
export interface CapabilitiesProblem {
  /** What is wrong. */
  readonly message: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
}

/**
 * A capabilities file is invalid. `problems` lists every problem found; `line` and `column`
 * are those of the first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CapabilitiesError } from "./errors.ts";
 *
 * const error = new CapabilitiesError("caps.yaml", [
 *   { message: 'unknown capability "foo"', line: 3, column: 9 },
 * ]);
 * assert.equal(error.code, "INVALID_CAPABILITIES");
 * assert.equal(error.line, 3);
 * ```
 */
export class CapabilitiesError extends SyntaxError {
  /** Stable error code. */
  readonly code = "INVALID_CAPABILITIES" as const;
  /** Every problem found, at least one, in file order. */
  readonly problems: readonly CapabilitiesProblem[];
  /** Line of the first problem. */
  readonly line: number;
  /** Column of the first problem. */
  readonly column: number;

  /**
   * Creates the error.
   *
   * @param source File name or `"<input>"`.
   * @param problems Every problem found, at least one.
   */
  constructor(source: string, problems: readonly CapabilitiesProblem[]) {
    const detail = problems.map((p) => `${p.message} at line ${p.line}, column ${p.column}`)
      .join("; ");
    super(`Cannot load capabilities from "${source}": ${detail}`);
    this.name = "CapabilitiesError";
    this.problems = Object.freeze([...problems]);
    this.line = problems[0]?.line ?? 1;
    this.column = problems[0]?.column ?? 1;
  }
}

/**
 * Code ran outside `withTraceContext` / `withTenant` but needed that context.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ContextMissingError } from "./errors.ts";
 *
 * const error = new ContextMissingError("tenant");
 * assert.equal(error.code, "TENANT_CONTEXT_MISSING");
 * ```
 */
export class ContextMissingError extends Error {
  /** Stable error code. */
  readonly code: "TENANT_CONTEXT_MISSING" | "TRACE_CONTEXT_MISSING";

  /**
   * Creates the error.
   *
   * @param kind Which context is missing.
   */
  constructor(kind: "tenant" | "trace") {
    super(
      kind === "tenant"
        ? "No tenant context: wrap the call in withTenant(tenantId, fn) or serve it behind plmTenantMiddleware"
        : "No trace context: wrap the call in withTraceContext(ctx, fn) or serve it behind plmTenantMiddleware",
    );
    this.name = "ContextMissingError";
    this.code = kind === "tenant" ? "TENANT_CONTEXT_MISSING" : "TRACE_CONTEXT_MISSING";
  }
}

/**
 * An artifact key does not exist in the store.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ArtifactNotFound } from "./errors.ts";
 *
 * assert.equal(new ArtifactNotFound("reports/a.pdf").code, "ARTIFACT_NOT_FOUND");
 * ```
 */
export class ArtifactNotFound extends Error {
  /** Stable error code. */
  readonly code = "ARTIFACT_NOT_FOUND" as const;
  /** The key that was asked for. */
  readonly key: string;

  /**
   * Creates the error.
   *
   * @param key The missing key.
   * @param options Standard error options (`cause`).
   */
  constructor(key: string, options?: ErrorOptions) {
    super(`Artifact "${key}" not found: check the key or list the prefix`, options);
    this.name = "ArtifactNotFound";
    this.key = key;
  }
}

/**
 * An artifact key is not acceptable (empty, `..`, absolute, NUL, backslash, leaves the root).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidArtifactKey } from "./errors.ts";
 *
 * assert.equal(new InvalidArtifactKey("../x", "contains \"..\"").code, "INVALID_ARTIFACT_KEY");
 * ```
 */
export class InvalidArtifactKey extends TypeError {
  /** Stable error code. */
  readonly code = "INVALID_ARTIFACT_KEY" as const;
  /** The refused key. */
  readonly key: string;

  /**
   * Creates the error.
   *
   * @param key The refused key.
   * @param reason Why it is refused.
   */
  constructor(key: string, reason: string) {
    super(`Invalid artifact key "${key}": ${reason}; use relative keys of "/"-separated names`);
    this.name = "InvalidArtifactKey";
    this.key = key;
  }
}

/**
 * The artifact store could not be reached or refused the operation for a reason other than a
 * missing key (credentials, bucket, network). Nothing was written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ArtifactStoreUnavailable } from "./errors.ts";
 *
 * const error = new ArtifactStoreUnavailable("put", new Error("ECONNREFUSED"));
 * assert.equal(error.code, "ARTIFACT_STORE_UNAVAILABLE");
 * ```
 */
export class ArtifactStoreUnavailable extends Error {
  /** Stable error code. */
  readonly code = "ARTIFACT_STORE_UNAVAILABLE" as const;

  /**
   * Creates the error.
   *
   * @param operation The operation that failed (`"put"`, `"get"`, ...).
   * @param cause The underlying error.
   */
  constructor(operation: string, cause: unknown) {
    super(
      `Artifact store failed during "${operation}": check the root directory (filesystem) or the endpoint, bucket and credentials (S3)`,
      {
        cause,
      },
    );
    this.name = "ArtifactStoreUnavailable";
  }
}

/**
 * The database could not be reached or the connection broke. The event was not written; retry
 * it with the same idempotency key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EmitterUnavailable } from "./errors.ts";
 *
 * const error = new EmitterUnavailable(new Error("ECONNREFUSED"));
 * assert.equal(error.code, "EMITTER_UNAVAILABLE");
 * ```
 */
export class EmitterUnavailable extends Error {
  /** Stable error code. */
  readonly code = "EMITTER_UNAVAILABLE" as const;

  /**
   * Creates the error.
   *
   * @param cause The driver error.
   */
  constructor(cause: unknown) {
    super("Database unavailable: the event was not written; retry with the same idempotency key", {
      cause,
    });
    this.name = "EmitterUnavailable";
  }
}

/**
 * A migration failed; its revision was rolled back as a whole.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MigrationError } from "./errors.ts";
 *
 * const error = new MigrationError("0003_llm_calls", new Error("syntax error"));
 * assert.equal(error.code, "MIGRATION_FAILED");
 * assert.equal(error.revision, "0003_llm_calls");
 * ```
 */
export class MigrationError extends Error {
  /** Stable error code. */
  readonly code = "MIGRATION_FAILED" as const;
  /** Revision (file name without extension) that failed. */
  readonly revision: string;

  /**
   * Creates the error.
   *
   * @param revision Revision that failed.
   * @param cause The driver error (its message names the statement).
   */
  constructor(revision: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`Migration "${revision}" failed and was rolled back: ${detail}`, { cause });
    this.name = "MigrationError";
    this.revision = revision;
  }
}

/**
 * A write for a tenant that is not registered (no `tenants` row; register it with
 * `registerTenant` from `@tracepulse/plm-shared/postgres`, or in the memory emitter's tenant
 * list). Nothing was written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnknownTenant } from "./errors.ts";
 *
 * const error = new UnknownTenant("0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e");
 * assert.equal(error.code, "UNKNOWN_TENANT");
 * assert.equal(error.tenantId, "0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e");
 * ```
 */
export class UnknownTenant extends Error {
  /** Stable error code. */
  readonly code = "UNKNOWN_TENANT" as const;
  /** The tenant that is not registered. */
  readonly tenantId: string;

  /**
   * Creates the error.
   *
   * @param tenantId The emitter's tenant.
   * @param options The driver error, if any, as `cause`.
   */
  constructor(tenantId: string, options?: ErrorOptions) {
    super(
      `Unknown tenant "${tenantId}": register the tenant before writing for it; nothing was written`,
      options,
    );
    this.name = "UnknownTenant";
    this.tenantId = tenantId;
  }
}

/**
 * An emitter was called inside a tenant context (`withTenant`) of another tenant: writing
 * would store one tenant's event under another's id. Nothing was written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TenantMismatch } from "./errors.ts";
 *
 * const error = new TenantMismatch(
 *   "0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e",
 *   "7d1f3a52-9b0e-4c6a-8f21-5e4d3c2b1a09",
 * );
 * assert.equal(error.code, "TENANT_MISMATCH");
 * ```
 */
export class TenantMismatch extends Error {
  /** Stable error code. */
  readonly code = "TENANT_MISMATCH" as const;
  /** The emitter's tenant. */
  readonly emitterTenantId: string;
  /** The tenant of the current `withTenant` context. */
  readonly contextTenantId: string;

  /**
   * Creates the error.
   *
   * @param emitterTenantId The tenant the emitter writes for.
   * @param contextTenantId The tenant of the current context.
   */
  constructor(emitterTenantId: string, contextTenantId: string) {
    super(
      `Emitter of tenant "${emitterTenantId}" called inside withTenant("${contextTenantId}"): ` +
        "use the emitter of the context's tenant; nothing was written",
    );
    this.name = "TenantMismatch";
    this.emitterTenantId = emitterTenantId;
    this.contextTenantId = contextTenantId;
  }
}

/**
 * A GenAI span cannot be recorded as a kernel call: it has no tenant (it was started outside
 * `withTenant` and has no `plm.tenant_id` attribute), or its `plm.tenant_id` attribute names
 * another tenant than the `withTenant` scope it was started in. The span is never stored under
 * a default tenant. Carries the span's ids, never the tenant ids.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OtelSpanRefused } from "./errors.ts";
 *
 * const error = new OtelSpanRefused("without_tenant", {
 *   traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
 *   spanId: "00f067aa0ba902b7",
 * });
 * assert.equal(error.code, "SPAN_WITHOUT_TENANT");
 * assert.equal(error.spanId, "00f067aa0ba902b7");
 * ```
 */
export class OtelSpanRefused extends Error {
  /** Stable error code. */
  readonly code: "SPAN_WITHOUT_TENANT" | "SPAN_TENANT_MISMATCH";
  /** The refused span's trace id. */
  readonly traceId: string;
  /** The refused span's id. */
  readonly spanId: string;

  /**
   * Creates the error.
   *
   * @param reason Why the span is refused.
   * @param span The span's ids.
   */
  constructor(
    reason: "without_tenant" | "tenant_mismatch",
    span: { readonly traceId: string; readonly spanId: string },
  ) {
    super(
      reason === "without_tenant"
        ? `Cannot record span "${span.spanId}" of trace "${span.traceId}": it has no tenant; start it inside withTenant(tenantId, fn) or set its "plm.tenant_id" attribute`
        : `Cannot record span "${span.spanId}" of trace "${span.traceId}": its "plm.tenant_id" attribute differs from the withTenant scope it was started in; set one tenant`,
    );
    this.name = "OtelSpanRefused";
    this.code = reason === "without_tenant" ? "SPAN_WITHOUT_TENANT" : "SPAN_TENANT_MISMATCH";
    this.traceId = span.traceId;
    this.spanId = span.spanId;
  }
}

/**
 * A role of the package exists with more power than the package gives it (roles are
 * cluster-wide: someone else may have created or altered it). The migration refused to trust
 * it; remove the attribute (`ALTER ROLE ... NOLOGIN`, `REVOKE ... FROM ...`) or drop the role,
 * then migrate again.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UntrustedRole } from "./errors.ts";
 *
 * const error = new UntrustedRole("plm_kernel_writer", "BYPASSRLS");
 * assert.equal(error.code, "UNTRUSTED_ROLE");
 * assert.equal(error.attribute, "BYPASSRLS");
 * ```
 */
export class UntrustedRole extends Error {
  /** Stable error code. */
  readonly code = "UNTRUSTED_ROLE" as const;
  /** The role refused. */
  readonly role: string;
  /** What it must not have: `"LOGIN"`, `"BYPASSRLS"`, `member of "pg_write_all_data"`, ... */
  readonly attribute: string;

  /**
   * Creates the error.
   *
   * @param role The role refused.
   * @param attribute The attribute or membership it must not have.
   */
  constructor(role: string, attribute: string) {
    super(
      `Role "${role}" is not trusted: it has ${attribute}; remove it (or drop the role) and migrate again`,
    );
    this.name = "UntrustedRole";
    this.role = role;
    this.attribute = attribute;
  }
}

/**
 * `migrate` waited longer than its `lockTimeout` for another migration of the same database to
 * finish. Nothing was applied; try again once the other migration ended.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MigrationLockTimeout } from "./errors.ts";
 *
 * const error = new MigrationLockTimeout(30);
 * assert.equal(error.code, "MIGRATION_LOCK_TIMEOUT");
 * assert.equal(error.seconds, 30);
 * ```
 */
export class MigrationLockTimeout extends Error {
  /** Stable error code. */
  readonly code = "MIGRATION_LOCK_TIMEOUT" as const;
  /** Seconds waited. */
  readonly seconds: number;

  /**
   * Creates the error.
   *
   * @param seconds Seconds waited for the lock.
   * @param cause The driver error, if any.
   */
  constructor(seconds: number, cause?: unknown) {
    super(
      `Another migration held the lock for more than "${seconds}" s: nothing was applied; retry once it ends (or raise lockTimeout)`,
      { cause },
    );
    this.name = "MigrationLockTimeout";
    this.seconds = seconds;
  }
}

/**
 * No PostgreSQL server answered within the connect timeout: the host is down, silent, or speaks
 * another protocol (an HTTP server, a wrong port). Nothing was sent but the startup message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DatabaseUnreachable } from "./errors.ts";
 *
 * const error = new DatabaseUnreachable("127.0.0.1:8080", 10);
 * assert.equal(error.code, "DATABASE_UNREACHABLE");
 * assert.match(error.message, /"127.0.0.1:8080"/);
 * ```
 */
export class DatabaseUnreachable extends Error {
  /** Stable error code. */
  readonly code = "DATABASE_UNREACHABLE" as const;

  /**
   * Creates the error.
   *
   * @param address `host:port` tried (never the credentials).
   * @param seconds The connect timeout.
   * @param cause The driver error, if any.
   */
  constructor(address: string, seconds: number, cause?: unknown) {
    super(
      `No PostgreSQL server answered at "${address}" within "${seconds}" s: check the DSN's host and port`,
      { cause },
    );
    this.name = "DatabaseUnreachable";
  }
}
/**
 * `registerTenant` (or `MemoryTenantRegistry.register`) was called with an id that is already
 * registered under another name. Nothing was written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TenantConflict } from "./errors.ts";
 *
 * const error = new TenantConflict("0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e");
 * assert.equal(error.code, "TENANT_CONFLICT");
 * ```
 */
export class TenantConflict extends Error {
  /** Stable error code. */
  readonly code = "TENANT_CONFLICT" as const;
  /** The tenant id that is registered under another name. */
  readonly tenantId: string;

  /**
   * Creates the error.
   *
   * @param tenantId The tenant id.
   */
  constructor(tenantId: string) {
    super(
      `Tenant "${tenantId}" is registered under another name: register it with the same name, or use a new id`,
    );
    this.name = "TenantConflict";
    this.tenantId = tenantId;
  }
}

/**
 * `registerTenant` was called on a connection whose role may not register tenants. Nothing
 * was written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TenantAdminRequired } from "./errors.ts";
 *
 * assert.equal(new TenantAdminRequired().code, "TENANT_ADMIN_REQUIRED");
 * ```
 */
export class TenantAdminRequired extends Error {
  /** Stable error code. */
  readonly code = "TENANT_ADMIN_REQUIRED" as const;

  /**
   * Creates the error.
   *
   * @param options The driver error as `cause`.
   */
  constructor(options?: ErrorOptions) {
    super(
      "Registering a tenant needs a login role in plm_tenant_admin: connect as one; nothing was written",
      options,
    );
    this.name = "TenantAdminRequired";
  }
}

/**
 * A lifecycle call named a trace that has no run for the emitter's tenant: call `startRun`
 * first. Nothing was written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnknownRun } from "./errors.ts";
 *
 * const error = new UnknownRun("4bf92f3577b34da6a3ce929d0e0e4736");
 * assert.equal(error.code, "UNKNOWN_RUN");
 * ```
 */
export class UnknownRun extends Error {
  /** Stable error code. */
  readonly code = "UNKNOWN_RUN" as const;
  /** The trace without a run. */
  readonly traceId: string;

  /**
   * Creates the error.
   *
   * @param traceId The trace without a run.
   */
  constructor(traceId: string) {
    super(`No run for trace "${traceId}": call startRun for it first; nothing was written`);
    this.name = "UnknownRun";
    this.traceId = traceId;
  }
}

/**
 * `startRun` was called for a trace whose run was started with another product line or actor.
 * Nothing was written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RunConflict } from "./errors.ts";
 *
 * const error = new RunConflict("4bf92f3577b34da6a3ce929d0e0e4736");
 * assert.equal(error.code, "RUN_CONFLICT");
 * ```
 */
export class RunConflict extends Error {
  /** Stable error code. */
  readonly code = "RUN_CONFLICT" as const;
  /** The trace whose run differs. */
  readonly traceId: string;

  /**
   * Creates the error.
   *
   * @param traceId The trace whose run differs.
   */
  constructor(traceId: string) {
    super(
      `Run of trace "${traceId}" was started with another product line or actor: start it with the same fields, or use a new trace`,
    );
    this.name = "RunConflict";
    this.traceId = traceId;
  }
}

/**
 * `raiseQuality` or `endRun` asked for a quality level below the run's: a run's quality only
 * moves forward. Nothing was written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { QualityRegression } from "./errors.ts";
 *
 * const error = new QualityRegression("4bf92f3577b34da6a3ce929d0e0e4736", "validated", "draft");
 * assert.equal(error.code, "QUALITY_REGRESSION");
 * ```
 */
export class QualityRegression extends Error {
  /** Stable error code. */
  readonly code = "QUALITY_REGRESSION" as const;
  /** The run's trace. */
  readonly traceId: string;
  /** The level the run has. */
  readonly current: string;
  /** The lower level that was asked for. */
  readonly requested: string;

  /**
   * Creates the error.
   *
   * @param traceId The run's trace.
   * @param current The level the run has.
   * @param requested The lower level asked for.
   */
  constructor(traceId: string, current: string, requested: string) {
    super(
      `Run of trace "${traceId}" is "${current}": its quality only moves forward, not to "${requested}"`,
    );
    this.name = "QualityRegression";
    this.traceId = traceId;
    this.current = current;
    this.requested = requested;
  }
}

/**
 * `recordArtifact` was called for an artifact (uri and sha256) that is recorded with another
 * trace, size, content type or retention. Nothing was written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ArtifactConflict } from "./errors.ts";
 *
 * assert.equal(new ArtifactConflict("file:///tmp/a/report.pdf").code, "ARTIFACT_CONFLICT");
 * ```
 */
export class ArtifactConflict extends Error {
  /** Stable error code. */
  readonly code = "ARTIFACT_CONFLICT" as const;
  /** The artifact's uri. */
  readonly uri: string;

  /**
   * Creates the error.
   *
   * @param uri The artifact's uri.
   */
  constructor(uri: string) {
    super(
      `Artifact "${uri}" with this sha256 is recorded with another trace, size, content type or retention: record what head() returns for it`,
    );
    this.name = "ArtifactConflict";
    this.uri = uri;
  }
}

/**
 * `settleCost` named a call (table and idempotency key) that is not recorded for the emitter's
 * tenant. Nothing was written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnknownCall } from "./errors.ts";
 *
 * assert.equal(new UnknownCall("llm_calls", "t|trace|span|llm.call|ab").code, "UNKNOWN_CALL");
 * ```
 */
export class UnknownCall extends Error {
  /** Stable error code. */
  readonly code = "UNKNOWN_CALL" as const;
  /** The table searched. */
  readonly table: string;
  /** The key, as `idempotencyKeyToString` writes it. */
  readonly idempotencyKey: string;

  /**
   * Creates the error.
   *
   * @param table The table searched.
   * @param idempotencyKey The key, as a string.
   */
  constructor(table: string, idempotencyKey: string) {
    super(`No call in "${table}" has this idempotency key: record the call before settling it`);
    this.name = "UnknownCall";
    this.table = table;
    this.idempotencyKey = idempotencyKey;
  }
}

/**
 * `settleCost` asked for another cost status than the call's, whose cost is no longer
 * `pending` (it was recorded or settled as `calculated` or `unavailable`). Nothing was written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CostNotPending } from "./errors.ts";
 *
 * assert.equal(new CostNotPending("llm_calls", "calculated").code, "COST_NOT_PENDING");
 * ```
 */
export class CostNotPending extends Error {
  /** Stable error code. */
  readonly code = "COST_NOT_PENDING" as const;
  /** The call's table. */
  readonly table: string;
  /** The call's cost status. */
  readonly costStatus: string;

  /**
   * Creates the error.
   *
   * @param table The call's table.
   * @param costStatus The call's cost status.
   */
  constructor(table: string, costStatus: string) {
    super(
      `The call's cost in "${table}" is "${costStatus}", not "pending": only a pending cost is settled`,
    );
    this.name = "CostNotPending";
    this.table = table;
    this.costStatus = costStatus;
  }
}

/**
 * `settleCost` asked for `calculated` with another amount than the one the call's cost was
 * settled (or recorded) with. Nothing was written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CostSettlementConflict } from "./errors.ts";
 *
 * const error = new CostSettlementConflict("llm_calls");
 * assert.equal(error.code, "COST_SETTLEMENT_CONFLICT");
 * ```
 */
export class CostSettlementConflict extends Error {
  /** Stable error code. */
  readonly code = "COST_SETTLEMENT_CONFLICT" as const;
  /** The call's table. */
  readonly table: string;

  /**
   * Creates the error.
   *
   * @param table The call's table.
   */
  constructor(table: string) {
    super(
      `The call's cost in "${table}" is calculated with another amount: settle it with the same cost_eur`,
    );
    this.name = "CostSettlementConflict";
    this.table = table;
  }
}
