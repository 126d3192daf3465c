/**
 * The import-cycle check: no module of the package imports itself through others, counting
 * static, dynamic and type-only imports (`deno info --json` of every entry point named by
 * deno.json "exports"). A cycle ties two files into one unit: neither can be read, tested or
 * loaded without the other.
 *
 * Usage: `deno run -A tools/check_cycles.ts [root]` (default: the current directory); prints one
 * line per cycle and exits 1 when there is any.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { denoInfo, displayName, graphEdges } from "./_module_graph.ts";

/**
 * Find the import cycles among the package's own modules (files under `root`).
 *
 * @param root Directory holding deno.json with "exports".
 * @returns One cycle per strongly connected group of modules, as root-relative paths from its
 *   first module back to it (`["src/a.ts", "src/b.ts", "src/a.ts"]`); empty when there is none.
 * @throws {Error} When deno.json has no exports or `deno info` fails.
 */
export async function findCycles(root: string): Promise<string[][]> {
  const config = JSON.parse(await readFile(join(root, "deno.json"), "utf8"));
  const exports = typeof config.exports === "string" ? { ".": config.exports } : config.exports;
  if (typeof exports !== "object" || exports === null) {
    throw new Error(`${join(root, "deno.json")} names no "exports"`);
  }
  const own = pathToFileURL(join(root, "/")).href;
  const edges = new Map<string, string[]>();
  for (const entry of Object.values(exports as Record<string, string>)) {
    for (const [from, to] of graphEdges(await denoInfo(root, entry))) {
      if (from.startsWith(own)) edges.set(from, to.filter((s) => s.startsWith(own)));
    }
  }
  return stronglyConnected(edges)
    .filter((group) => group.length > 1 || edges.get(group[0])?.includes(group[0]))
    .map((group) => cycleThrough(group, edges).map((node) => displayName(root, node)))
    .sort((a, b) => a[0] < b[0] ? -1 : 1);
}

/** Tarjan's algorithm: the strongly connected components of the graph, nodes sorted. */
function stronglyConnected(edges: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const group: string[] = [];
    for (let member = ""; member !== node;) {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(member);
    }
    groups.push(group.sort());
  };
  for (const node of [...edges.keys()].sort()) if (!index.has(node)) visit(node);
  return groups;
}

/** A shortest path inside `group` from its first node back to it (breadth first). */
function cycleThrough(group: string[], edges: Map<string, string[]>): string[] {
  const members = new Set(group);
  const start = group[0];
  const parent = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const next of edges.get(node) ?? []) {
      if (next === start) {
        const path = [node];
        for (let at = node; at !== start;) path.unshift(at = parent.get(at)!);
        return [...path, start];
      }
      if (!members.has(next) || parent.has(next)) continue;
      parent.set(next, node);
      queue.push(next);
    }
  }
  return [start, start];
}

if (import.meta.main) {
  const root = Deno.args[0] ?? Deno.cwd();
  const cycles = await findCycles(root);
  for (const cycle of cycles) console.error(`error[cycle]: import cycle: ${cycle.join(" -> ")}`);
  if (cycles.length > 0) Deno.exit(1);
  console.log("No import cycle among the package's modules");
}
