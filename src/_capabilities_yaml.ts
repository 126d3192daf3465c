/**
 * Internal: the YAML walk behind `parseCapabilities`. Records every problem of a capabilities
 * file with its line and column.
 *
 * @module
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { CapabilitiesProblem } from "./errors.ts";

/** A declaration as read; only meaningful when no problem was found. */
export interface ReadDeclaration {
  id: string;
  description: string;
  risk: string;
  requires_hitl: boolean;
}

const RISKS: readonly string[] = ["low", "medium", "high"];
const FILE_KEYS: readonly string[] = ["version", "capabilities"];
const DECLARATION_KEYS: readonly string[] = ["id", "description", "risk", "requires_hitl"];

/**
 * Check a capabilities YAML text completely.
 *
 * @param yamlText The YAML text.
 * @param idProblem Why an id may not be declared (pattern, built-in set), `undefined` if it may.
 * @returns The frozen declarations and every problem in file order.
 */
export function checkCapabilitiesYaml(
  yamlText: string,
  idProblem: (id: string) => string | undefined,
): { declarations: readonly ReadDeclaration[]; problems: CapabilitiesProblem[] } {
  const lineCounter = new LineCounter();
  const document = parseDocument(yamlText, { lineCounter, prettyErrors: false });
  const found: { offset: number; message: string }[] = [];
  for (const issue of [...document.errors, ...document.warnings]) {
    found.push({ offset: issue.pos[0], message: `invalid YAML: ${issue.message}` });
  }
  const checker = new FileChecker(found, lineCounter, idProblem);
  const declarations = checker.file(document.contents);
  const problems = found
    .sort((a, b) => a.offset - b.offset)
    .map(({ offset, message }) => ({ message, ...checker.position(offset) }));
  return { declarations, problems };
}

/** Walks the YAML tree and records every problem with the offset it starts at. */
class FileChecker {
  #found: { offset: number; message: string }[];
  #lineCounter: LineCounter;
  #idProblem: (id: string) => string | undefined;
  #firstById = new Map<string, number>();

  constructor(
    found: { offset: number; message: string }[],
    lineCounter: LineCounter,
    idProblem: (id: string) => string | undefined,
  ) {
    this.#found = found;
    this.#lineCounter = lineCounter;
    this.#idProblem = idProblem;
  }

  position(offset: number): { line: number; column: number } {
    const { line, col } = this.#lineCounter.linePos(offset);
    return { line, column: col };
  }

  file(root: Node | null): ReadDeclaration[] {
    const fields = this.#fields(root, FILE_KEYS, "the file", 0);
    const version = fields?.get("version");
    if (version && !(isScalar(version) && version.value === 1)) {
      this.#report(version, `"version" must be 1: got ${describe(version)}`);
    }
    const list = fields?.get("capabilities");
    if (!list) return [];
    if (!isSeq(list)) {
      this.#report(list, `"capabilities" must be a list: got ${describe(list)}`);
      return [];
    }
    return list.items.flatMap((item) => this.#declaration(item as Node, list.range?.[0] ?? 0));
  }

  #declaration(item: Node, listOffset: number): ReadDeclaration[] {
    const fields = this.#fields(item, DECLARATION_KEYS, "a capability", listOffset);
    if (!fields) return [];
    const idNode = fields.get("id");
    const id = this.#string(idNode, "id");
    if (id !== undefined) this.#checkId(id, idNode!);
    const description = this.#string(fields.get("description"), "description");
    if (description === "") this.#report(fields.get("description")!, '"description" is empty');
    const riskNode = fields.get("risk");
    const risk = this.#string(riskNode, "risk");
    if (risk !== undefined && !RISKS.includes(risk)) {
      this.#report(
        riskNode!,
        `"risk" must be "low", "medium" or "high": got ${describe(riskNode)}`,
      );
    }
    const hitl = fields.get("requires_hitl");
    const requiresHitl = isScalar(hitl) ? hitl.value : undefined;
    if (hitl && typeof requiresHitl !== "boolean") {
      this.#report(hitl, `"requires_hitl" must be true or false: got ${describe(hitl)}`);
    }
    // Built even when something is wrong: parseCapabilities throws before returning it.
    return [Object.freeze({
      id: id as string,
      description: description as string,
      risk: risk as string,
      requires_hitl: requiresHitl as boolean,
    })];
  }

  #checkId(id: string, node: Node): void {
    const problem = this.#idProblem(id);
    if (problem !== undefined) this.#report(node, problem);
    const first = this.#firstById.get(id);
    if (first === undefined) this.#firstById.set(id, node.range?.[0] ?? 0);
    else {
      const { line } = this.position(first);
      this.#report(node, `duplicate capability id "${id}" (first declared at line ${line})`);
    }
  }

  /** The string value of `node`, or `undefined` (reported) when it is not a string. */
  #string(node: Node | undefined, key: string): string | undefined {
    if (!node) return undefined;
    if (isScalar(node) && typeof node.value === "string") return node.value;
    this.#report(node, `"${key}" must be a string: got ${describe(node)}`);
    return undefined;
  }

  /** The values of a mapping's known keys; reports a non-mapping, unknown and missing keys. */
  #fields(
    node: Node | null,
    keys: readonly string[],
    what: string,
    fallbackOffset: number,
  ): Map<string, Node> | undefined {
    const expected = keys.map((key) => `"${key}"`).join(", ");
    if (!isMap(node)) {
      const message = `${what} must be a mapping with ${expected}: got ${describe(node)}`;
      this.#found.push({ offset: node?.range?.[0] ?? fallbackOffset, message });
      return undefined;
    }
    const fields = new Map<string, Node>();
    for (const pair of node.items) {
      const key = pair.key as Node;
      const name = isScalar(key) ? String(key.value) : "";
      if (!keys.includes(name)) {
        this.#report(key, `unknown key ${describe(key)} in ${what}: expected ${expected}`);
      } else if (pair.value === null) {
        this.#report(key, `key "${name}" has no value`);
      } else if (!fields.has(name)) { // a repeated key is a YAML error reported by the parser
        fields.set(name, pair.value as Node);
      }
    }
    for (const key of keys) {
      const present = node.items.some((pair) => isScalar(pair.key) && pair.key.value === key);
      if (!present) this.#report(node, `missing key "${key}" in ${what}`);
    }
    return fields;
  }

  #report(node: Node, message: string): void {
    this.#found.push({ offset: node.range?.[0] ?? 0, message });
  }
}

/** A short description of a node for messages: the scalar as JSON, else its kind. */
function describe(node: Node | null | undefined): string {
  if (node === null || node === undefined) return "nothing";
  if (isAlias(node)) return "an alias (write the value out)";
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) return node.value === null ? "nothing" : JSON.stringify(node.value);
  return "an unsupported value";
}
