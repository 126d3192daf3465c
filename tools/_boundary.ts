/**
 * Internal: the SQL boundary policy shared by the lint plugin (who may import a PostgreSQL
 * driver) and tools/check_boundaries.ts (who may write to the event tables, which entry point
 * may reach which driver).
 *
 * Paths are relative to the package root (the directory holding deno.json), with `/`.
 *
 * @module
 */

/**
 * Files of the shipped package that may import a PostgreSQL driver (`postgres`,
 * `@electric-sql/*`) and contain `INSERT INTO` an event table.
 */
export const BOUNDARY_FILES: readonly string[] = [
  "src/db.ts",
  "src/postgres_kernel_emitter.ts",
  "src/_postgres_citus.ts",
  "src/_postgres_lifecycle.ts",
  "src/tenants.ts",
  "src/migrate.ts",
  "src/_migrate_roles.ts",
];

/**
 * Directories whose files may do both as well: migrations belong to the boundary; tests,
 * benchmarks and tools are not shipped code (they seed rows and measure bare INSERTs).
 */
export const BOUNDARY_DIRS: readonly string[] = ["migrations/", "tests/", "bench/", "tools/"];

/**
 * Extra files that may import the embedded PostgreSQL (`@electric-sql/*`) but not postgres.js:
 * the PGlite starter that serves a throwaway database when no PG_DSN is set.
 */
export const EMBEDDED_FILES: readonly string[] = ["src/_db_embedded.ts"];

/** Event tables that only the boundary files may insert into. */
export const EVENT_TABLES: readonly string[] = [
  "telemetry_events",
  "llm_calls",
  "connector_calls",
  "pricing_snapshots",
];

/**
 * The driver families the boundary guards: postgres.js, PGlite, the AWS S3 SDK, and
 * OpenTelemetry (`@opentelemetry/*`, an optional peer that only ./otel may load).
 */
export type DriverFamily = "postgres" | "embedded" | "s3" | "otel";

/**
 * Which driver family an import specifier loads, or `undefined` for anything else.
 * Understands bare names (`postgres`, `postgres/x`), `npm:` specifiers with or without a
 * version (`npm:postgres@3.4.9`, `npm:/postgres@3.4.9`) and scoped families.
 */
export function driverFamily(specifier: string): DriverFamily | undefined {
  const name = packageName(specifier);
  if (name === "postgres") return "postgres";
  if (name?.startsWith("@electric-sql/")) return "embedded";
  if (name?.startsWith("@aws-sdk/")) return "s3";
  if (name?.startsWith("@opentelemetry/")) return "otel";
  return undefined;
}

/** Whether a root-relative path may import drivers of `family` under the boundary policy. */
export function mayImportDriver(path: string, family: "postgres" | "embedded"): boolean {
  if (insideBoundary(path)) return true;
  return family === "embedded" && EMBEDDED_FILES.includes(path);
}

/** Whether a root-relative path may contain `INSERT INTO` an event table. */
export function insideBoundary(path: string): boolean {
  return BOUNDARY_FILES.includes(path) || BOUNDARY_DIRS.some((dir) => path.startsWith(dir));
}

/**
 * The npm package name in a bare or `npm:` specifier (`"npm:/@aws-sdk/client-s3@3.1.0/x"` →
 * `"@aws-sdk/client-s3"`), or `undefined` for relative, absolute, `node:` and URL specifiers.
 */
function packageName(specifier: string): string | undefined {
  const bare = specifier.replace(/^npm:\/?/, "");
  if (/^[./]|^[a-z][a-z0-9+.-]*:/i.test(bare)) return undefined;
  const match = /^(@[^/@]+\/[^/@]+|[^/@]+)/.exec(bare);
  return match?.[1];
}
