import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";

const root = new URL("../", import.meta.url);

/** Every `readonly code` of src/errors.ts (single codes and unions of codes). */
async function errorCodes(): Promise<string[]> {
  const source = await readFile(new URL("src/errors.ts", root), "utf8");
  const declarations = [...source.matchAll(/readonly code(?::|\s*=)\s*([^;]+);/g)];
  // Every declaration is read (none written in a form this reader misses).
  assert.equal(declarations.length, source.split("readonly code").length - 1);
  const codes = new Set<string>();
  for (const [, declared] of declarations) {
    const found = [...declared.matchAll(/"([A-Z][A-Z0-9_]*)"/g)].map(([, code]) => code);
    assert.ok(found.length > 0, `no code read from "readonly code ${declared}"`);
    for (const code of found) codes.add(code);
  }
  return [...codes].sort();
}

/** The codes in the first column of README's error table (section "Errors"). */
async function readmeErrorCodes(): Promise<string[]> {
  const readme = await readFile(new URL("README.md", root), "utf8");
  const section = readme.split(/^## Errors$/m)[1]?.split(/^## /m)[0] ?? "";
  return [...section.matchAll(/^\| ([A-Z][A-Z0-9_]+) +\|/gm)].map(([, code]) => code).sort();
}

Deno.test("every error code of src/errors.ts is in README's error table, once", async () => {
  const declared = await errorCodes();
  const documented = await readmeErrorCodes();
  assert.deepEqual(declared.filter((code) => !documented.includes(code)), [], "missing in README");
  assert.deepEqual(documented.filter((code) => !declared.includes(code)), [], "not in errors.ts");
  assert.equal(new Set(documented).size, documented.length, "a code is listed twice");
});
