/**
 * Internal: the module graph of an entry point as `deno info --json` reports it (static,
 * dynamic and type-only imports, plus npm dependencies of npm packages), shared by
 * tools/check_boundaries.ts and tools/check_cycles.ts.
 *
 * @module
 */
import { relative } from "node:path";

/** The parts of `deno info --json` the checks read. */
export interface DenoInfo {
  roots: string[];
  redirects: Record<string, string>;
  modules: {
    specifier: string;
    kind?: string;
    npmPackage?: string;
    dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
  }[];
  npmPackages: Record<string, { dependencies: string[] }>;
}

/**
 * Run `deno info --json` on `entry`.
 *
 * @param root The package root (the working directory of `deno info`).
 * @param entry Root-relative entry point.
 * @returns The parsed graph.
 * @throws {Error} When `deno info` fails (missing file, unresolvable import).
 */
export async function denoInfo(root: string, entry: string): Promise<DenoInfo> {
  const output = await new Deno.Command(Deno.execPath(), {
    // Resolved through Deno's global cache: only there does `deno info` list the npm packages'
    // own dependencies (a manual node_modules/ does not).
    args: ["info", "--json", "--node-modules-dir=none", entry],
    cwd: root,
    env: { NO_COLOR: "1" },
  }).output();
  if (!output.success) {
    throw new Error(`deno info ${entry} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

/** Adjacency of the graph: module specifiers and `npm:<name>@<version>` package ids. */
export function graphEdges(info: DenoInfo): Map<string, string[]> {
  const resolve = (specifier: string) => info.redirects[specifier] ?? specifier;
  const edges = new Map<string, string[]>();
  for (const module of info.modules) {
    if (module.npmPackage !== undefined) {
      edges.set(module.specifier, [`npm:${module.npmPackage}`]);
      continue;
    }
    const targets = (module.dependencies ?? []).flatMap((dep) =>
      [dep.code?.specifier, dep.type?.specifier].filter((s) => s !== undefined).map(resolve)
    );
    edges.set(module.specifier, targets);
  }
  for (const [id, pkg] of Object.entries(info.npmPackages)) {
    edges.set(`npm:${id}`, pkg.dependencies.map((dep) => `npm:${dep}`));
  }
  return edges;
}

/** A graph node for people: a root-relative path, or `npm:<name>@<version>`. */
export function displayName(root: string, specifier: string): string {
  if (!specifier.startsWith("file:")) return specifier.replace(/^npm:\/?/, "npm:");
  return relative(root, new URL(specifier).pathname);
}
