/**
 * Capabilities: the built-in set of capability tags and the loader of capabilities YAML files.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { checkCapabilitiesYaml } from "./_capabilities_yaml.ts";
import { CapabilitiesError } from "./errors.ts";
import { CAPABILITY_PATTERN, type CapabilityId, isCapability } from "./vocabulary.ts";

/** How much harm a misuse of a capability can do. */
export type CapabilityRisk = "low" | "medium" | "high";

/** One entry of a capabilities file. */
export interface CapabilityDeclaration {
  /** The capability tag. */
  readonly id: CapabilityId;
  /** What the capability allows, for people. */
  readonly description: string;
  /** How much harm a misuse can do. */
  readonly risk: CapabilityRisk;
  /** Whether a human must approve before each use. */
  readonly requires_hitl: boolean;
}

/** A validated, frozen capabilities file. */
export interface CapabilityRegistry {
  /** Format version of the file; only 1 exists. */
  readonly version: 1;
  /** The declarations in file order. */
  readonly capabilities: readonly CapabilityDeclaration[];
  /**
   * The declaration of `id`, if the file declares it.
   *
   * @param id The capability tag.
   * @returns The declaration or `undefined`.
   */
  get(id: string): CapabilityDeclaration | undefined;
}

/** Options of {@link parseCapabilities}. */
export interface ParseCapabilitiesOptions {
  /**
   * Name of the input in error messages (a file name).
   *
   * @default {"<input>"}
   */
  source?: string;
}

/**
 * Validate a capabilities YAML text and return its frozen registry. The whole text is checked
 * first; every problem (YAML syntax, unknown or missing key, wrong type, wrong version,
 * duplicate id, bad pattern, id outside the built-in set without the `x.` prefix, bad risk) is
 * reported with its line and column, and nothing is returned unless the file is valid.
 *
 * @param yamlText The YAML text.
 * @param options Where the text comes from, for messages.
 * @returns The frozen registry.
 * @throws {CapabilitiesError} When the file has any problem; `problems` lists all of them in
 * file order.
 *
 * @example Parse a file and look a capability up
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCapabilities } from "./capabilities.ts";
 *
 * const registry = parseCapabilities(`
 * version: 1
 * capabilities:
 *   - id: read.parts
 *     description: Read part master data
 *     risk: low
 *     requires_hitl: false
 * `);
 * assert.equal(registry.get("read.parts")?.risk, "low");
 * assert.ok(Object.isFrozen(registry.capabilities));
 * ```
 *
 * @example Every problem, with its position
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCapabilities } from "./capabilities.ts";
 *
 * assert.throws(
 *   () => parseCapabilities("version: 2\ncapabilities: []\nowner: me\n", { source: "caps.yaml" }),
 *   (error: any) =>
 *     error.code === "INVALID_CAPABILITIES" &&
 *     error.problems.map((p: any) => `${p.line}:${p.column}`).join(" ") === "1:10 3:1",
 * );
 * ```
 */
export function parseCapabilities(
  yamlText: string,
  options: ParseCapabilitiesOptions = {},
): CapabilityRegistry {
  const { declarations, problems } = checkCapabilitiesYaml(yamlText, idProblem);
  if (problems.length > 0) throw new CapabilitiesError(options.source ?? "<input>", problems);
  const capabilities = Object.freeze([...declarations]) as readonly CapabilityDeclaration[];
  const byId = new Map(capabilities.map((declaration) => [declaration.id, declaration]));
  return Object.freeze({
    version: 1,
    capabilities,
    get: (id: string) => byId.get(id as CapabilityId),
  });
}

/**
 * Read a capabilities YAML file (UTF-8) and validate it as {@link parseCapabilities} does.
 * Works in Deno and Node (`node:fs/promises`).
 *
 * @param path The file path or `file:` URL.
 * @returns The frozen registry.
 * @throws {CapabilitiesError} When the file has any problem (all are listed).
 * @throws {Error} The file system's error when the file cannot be read (`ENOENT`, ...).
 *
 * @example Load a file
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFile, mkdtemp, rm } from "node:fs/promises";
 * import { join } from "node:path";
 * import { tmpdir } from "node:os";
 * import { loadCapabilities } from "./capabilities.ts";
 *
 * const dir = await mkdtemp(join(tmpdir(), "caps-"));
 * const file = join(dir, "caps.yaml");
 * await writeFile(
 *   file,
 *   "version: 1\ncapabilities:\n  - id: x.acme.export\n    description: Export\n    risk: high\n    requires_hitl: true\n",
 * );
 * const registry = await loadCapabilities(file);
 * assert.equal(registry.get("x.acme.export")?.requires_hitl, true);
 * await rm(dir, { recursive: true });
 * ```
 */
export async function loadCapabilities(path: string | URL): Promise<CapabilityRegistry> {
  const text = await readFile(path, "utf8");
  return parseCapabilities(text, { source: String(path) });
}

/** Why `id` may not be declared, or `undefined` when it may. */
function idProblem(id: string): string | undefined {
  if (!CAPABILITY_PATTERN.test(id)) {
    return `capability id "${id}" does not match ${CAPABILITY_PATTERN.source}`;
  }
  if (!isCapability(id)) {
    return `unknown capability "${id}": use a built-in one or prefix it with "x."`;
  }
  return undefined;
}
