/**
 * The SQL boundary checks that deno lint cannot do (the import rule itself is
 * tools/lint_plugin.ts):
 *
 * - **insert**: no file outside the boundary (tools/_boundary.ts) contains
 *   `INSERT INTO telemetry_events|llm_calls|connector_calls|pricing_snapshots`, in any case or
 *   spacing, with quoted or schema-qualified names. Scans .ts/.js/.sql-like files.
 * - **graph**: the module graph of each entry point (`deno info --json`, static, dynamic and
 *   type-only imports, plus npm dependencies of npm packages) reaches no driver it must not
 *   load: mod.ts none at all, postgres.ts and migrate.ts no S3 SDK, s3.ts no PostgreSQL, otel.ts
 *   neither of those; only otel.ts may load OpenTelemetry (`@opentelemetry/*`).
 *
 * Usage: `deno run -A tools/check_boundaries.ts [root]` (default: the current directory);
 * prints one line per problem and exits 1 when there is any.
 *
 * @module
 */
import { join, relative } from "node:path";
import {
  BOUNDARY_FILES,
  type DriverFamily,
  driverFamily,
  EVENT_TABLES,
  insideBoundary,
} from "./_boundary.ts";
import { denoInfo, displayName, graphEdges } from "./_module_graph.ts";

/** One boundary violation. */
export interface BoundaryProblem {
  /** Which check found it. */
  rule: "insert" | "graph";
  /** Root-relative path of the offending file (the entry point for graph problems). */
  file: string;
  /** What is wrong, with the line or the import chain. */
  message: string;
}

/** Driver families each entry point must never reach. */
export const ENTRY_POLICY: Readonly<Record<string, readonly DriverFamily[]>> = {
  "mod.ts": ["postgres", "embedded", "s3", "otel"],
  "postgres.ts": ["s3", "otel"],
  "s3.ts": ["postgres", "embedded", "otel"],
  "otel.ts": ["postgres", "embedded", "s3"],
  "migrate.ts": ["s3", "otel"],
};

const FAMILY_LABEL: Record<DriverFamily, string> = {
  postgres: "the PostgreSQL driver",
  embedded: "the embedded PostgreSQL",
  s3: "the S3 SDK",
  otel: "OpenTelemetry",
};
const SCANNED = /\.(?:[cm]?[jt]sx?|sql)$/;
const SKIPPED_DIRS = new Set(["node_modules", "dist"]);
const NAME = String.raw`(?:"[^"\n]+"|[a-z_][a-z0-9_$]*)`;
const INSERT_INTO = new RegExp(
  String.raw`\binsert\s+into\s+(?:${NAME}\s*\.\s*)?"?(${EVENT_TABLES.join("|")})"?(?![a-z0-9_$])`,
  "gi",
);

/**
 * Run both checks on the package at `root`.
 *
 * @param root Directory holding deno.json and the entry points of {@link ENTRY_POLICY}.
 * @returns Every problem found, insert problems first; empty when the boundary holds.
 * @throws {Error} When an entry point is missing or `deno info` fails.
 */
export async function checkBoundaries(root: string): Promise<BoundaryProblem[]> {
  const graph = await Promise.all(Object.keys(ENTRY_POLICY).map((e) => checkGraph(root, e)));
  return [...await checkInserts(root), ...graph.flat()];
}

/**
 * Find `INSERT INTO <event table>` in every scanned file outside the boundary.
 *
 * @param root The package root.
 * @returns One problem per statement found.
 */
export async function checkInserts(root: string): Promise<BoundaryProblem[]> {
  const problems: BoundaryProblem[] = [];
  for await (const path of walk(root, root)) {
    if (insideBoundary(path) || !SCANNED.test(path)) continue;
    const text = await Deno.readTextFile(join(root, path));
    for (const match of text.matchAll(INSERT_INTO)) {
      const line = text.slice(0, match.index).split("\n").length;
      problems.push({
        rule: "insert",
        file: path,
        message: `${path}:${line} writes to "${match[1].toLowerCase()}" outside the SQL ` +
          `boundary; only the files of tools/_boundary.ts (${BOUNDARY_FILES.join(", ")}) and ` +
          "migrations/ may insert into event tables",
      });
    }
  }
  return problems;
}

/**
 * Find the forbidden drivers `entry`'s module graph reaches, with the import chain to each.
 *
 * @param root The package root.
 * @param entry Root-relative entry point, a key of {@link ENTRY_POLICY}.
 * @returns One problem per forbidden npm package reached.
 * @throws {Error} When `deno info` fails (missing file, unresolvable import).
 */
export async function checkGraph(root: string, entry: string): Promise<BoundaryProblem[]> {
  const info = await denoInfo(root, entry);
  const edges = graphEdges(info);
  const forbidden = ENTRY_POLICY[entry];
  const parent = new Map<string, string>();
  const queue = [...info.roots];
  const seen = new Set(queue);
  const problems: BoundaryProblem[] = [];
  while (queue.length > 0) {
    const node = queue.shift()!;
    const family = node.startsWith("npm:") ? driverFamily(node) : undefined;
    if (family !== undefined && forbidden.includes(family)) {
      const chain = [node];
      for (let at = node; parent.has(at);) chain.unshift(at = parent.get(at)!);
      problems.push({
        rule: "graph",
        file: entry,
        message: `${entry} reaches ${FAMILY_LABEL[family]} (${displayName(root, node)}): ` +
          chain.map((step) => displayName(root, step)).join(" -> "),
      });
      continue;
    }
    for (const next of edges.get(node) ?? []) {
      if (seen.has(next)) continue;
      seen.add(next);
      parent.set(next, node);
      queue.push(next);
    }
  }
  return problems;
}

async function* walk(root: string, dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && !entry.name.startsWith(".") && !SKIPPED_DIRS.has(entry.name)) {
      yield* walk(root, path);
    } else if (entry.isFile) {
      yield relative(root, path);
    }
  }
}

if (import.meta.main) {
  const root = Deno.args[0] ?? Deno.cwd();
  const problems = await checkBoundaries(root);
  for (const problem of problems) console.error(`error[${problem.rule}]: ${problem.message}`);
  if (problems.length > 0) Deno.exit(1);
  console.log(`SQL boundary holds: ${Object.keys(ENTRY_POLICY).join(", ")} and every source file`);
}
