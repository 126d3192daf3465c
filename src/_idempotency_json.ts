/**
 * Internal: find the first value that is not plain JSON (RFC 8785 / I-JSON) in a payload.
 *
 * Accepted: `null`, booleans, finite numbers, well-formed strings, arrays and plain objects
 * (prototype `Object.prototype` or `null`) whose keys are well-formed strings. Everything else is
 * a problem: NaN, ±Infinity, BigInt, `undefined` (in arrays and as a property value), functions,
 * symbols (as values and as keys), cycles, lone surrogates (in strings and keys), and objects of
 * any class (`Date`, `Map`, class instances, ...), so `toJSON` never decides what is hashed.
 *
 * @module
 */

/** One step of a path: an object key or an array index. */
export type JsonPathSegment = string | number;

/** The first non-JSON value found: where it is and why it is refused. */
export interface JsonProblem {
  /** Steps from the root to the offending value (empty for the root itself). */
  readonly path: readonly JsonPathSegment[];
  /** Why the value is not JSON, without echoing it. */
  readonly reason: string;
}

interface Node {
  readonly value: unknown;
  readonly key: JsonPathSegment | undefined;
  readonly parent: Node | undefined;
  readonly depth: number;
}

/**
 * Deepest nesting of arrays and objects a storable payload may have. PostgreSQL's `jsonb`
 * input is recursive and stops at the server's `max_stack_depth` (about 12,000 levels at the
 * default 2 MB, fewer on PGlite); 1,000 is stored everywhere.
 */
export const MAX_JSON_DEPTH = 1000;

/**
 * Walk `value` depth-first (iteratively, so deep nesting cannot overflow the stack) and return
 * the first problem, or `undefined` when the whole value is plain JSON.
 *
 * @param value The value to check.
 * @param storable Also refuse what PostgreSQL's `jsonb` cannot store although it is valid JSON:
 * U+0000 in strings and keys, and nesting deeper than {@link MAX_JSON_DEPTH}.
 * @returns The first problem found, or `undefined`.
 */
export function findNonJson(value: unknown, storable = false): JsonProblem | undefined {
  const ancestors = new Set<object>();
  const stack: (Node | { readonly leave: object })[] = [{
    value,
    key: undefined,
    parent: undefined,
    depth: 0,
  }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if ("leave" in item) {
      ancestors.delete(item.leave);
      continue;
    }
    const node = item;
    const reason = valueProblem(node.value, ancestors) ??
      (storable ? nulProblem(node.value) : undefined);
    if (reason !== undefined) return { path: pathOf(node), reason };
    const current = node.value;
    if (current === null || typeof current !== "object") continue;
    if (storable && node.depth >= MAX_JSON_DEPTH) return { path: pathOf(node), reason: DEEP };
    ancestors.add(current);
    const depth = node.depth + 1;
    stack.push({ leave: current });
    if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index--) {
        stack.push({ value: current[index], key: index, parent: node, depth });
      }
      continue;
    }
    if (Object.getOwnPropertySymbols(current).length > 0) {
      return { path: pathOf(node), reason: "a symbol-keyed property is not JSON" };
    }
    const keys = Object.keys(current);
    for (let index = keys.length - 1; index >= 0; index--) {
      const key = keys[index];
      if (!key.isWellFormed()) {
        return { path: [...pathOf(node), key], reason: "a key with a lone surrogate is not JSON" };
      }
      if (storable && key.includes("\0")) return { path: [...pathOf(node), key], reason: NUL };
      stack.push({ value: (current as Record<string, unknown>)[key], key, parent: node, depth });
    }
  }
  return undefined;
}

/**
 * Format a path JSONPath-style: `$`, `$.a[2]`, `$["a b"]`.
 *
 * @param path Steps from the root.
 * @returns The formatted path.
 */
export function formatJsonPath(path: readonly JsonPathSegment[]): string {
  let text = "$";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(segment)) text += `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

const NUL = "U+0000 cannot be stored in PostgreSQL jsonb; remove or replace it";
const DEEP = `nesting deeper than ${MAX_JSON_DEPTH} levels cannot be stored; flatten the payload`;

function nulProblem(value: unknown): string | undefined {
  return typeof value === "string" && value.includes("\0") ? NUL : undefined;
}

function valueProblem(value: unknown, ancestors: ReadonlySet<object>): string | undefined {
  switch (typeof value) {
    case "boolean":
      return undefined;
    case "string":
      return value.isWellFormed() ? undefined : "a string with a lone surrogate is not JSON";
    case "number":
      if (Number.isNaN(value)) return "NaN is not a JSON number";
      return Number.isFinite(value) ? undefined : "Infinity is not a JSON number";
    case "bigint":
      return "a BigInt is not a JSON number; convert it to a number or a string";
    case "undefined":
      return "undefined is not a JSON value; use null or leave the field out";
    case "function":
      return "a function is not a JSON value";
    case "symbol":
      return "a symbol is not a JSON value";
  }
  if (value === null) return undefined;
  if (ancestors.has(value as object)) return "a cycle (the value contains itself) is not JSON";
  if (Array.isArray(value)) return undefined;
  const prototype = Object.getPrototypeOf(value);
  if (prototype === Object.prototype || prototype === null) return undefined;
  const name = typeof prototype?.constructor === "function" ? prototype.constructor.name : "";
  return `an object of class "${name || "anonymous"}" is not plain JSON; convert it first`;
}

function pathOf(node: Node): JsonPathSegment[] {
  const path: JsonPathSegment[] = [];
  for (let current: Node | undefined = node; current?.key !== undefined; current = current.parent) {
    path.push(current.key);
  }
  return path.reverse();
}
