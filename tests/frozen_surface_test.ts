import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  collectSurface,
  diffJson,
  diffSurface,
  readSchemaDir,
  readSnapshots,
  SCHEMA_DIR,
  type Surface,
} from "../tools/_surface.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const POLICY = "A frozen shape changed. Give the new shape a new name (...V2) instead of editing " +
  "the old one; when the change is deliberate (a new contract or export), run `deno task freeze` " +
  "and commit the snapshots.";

let current: Promise<Surface> | undefined;
function currentSurface(): Promise<Surface> {
  return current ??= collectSurface(ROOT);
}

Deno.test("the public API matches tests/snapshots/api.json", async () => {
  const { api } = await currentSurface();
  const drift = diffSurface({ api: (await readSnapshots(ROOT)).api, schemas: {} }, {
    api,
    schemas: {},
  });
  assert.ok(drift.length === 0, `${drift.join("\n")}\n${POLICY}`);
});

Deno.test("schemas/ holds the JSON Schema of every zod contract, unchanged", async () => {
  const { schemas } = await currentSurface();
  const frozen = await readSnapshots(ROOT);
  const drift = diffSurface({ api: {}, schemas: frozen.schemas }, { api: {}, schemas });
  assert.ok(drift.length === 0, `${drift.join("\n")}\n${POLICY}`);
  assert.ok(Object.keys(schemas).length > 0, "no zod contract found among the exports");
});

Deno.test("diffSurface() reports a contract field renamed in a copy of the schemas", async () => {
  const frozen = await readSnapshots(ROOT);
  const dir = await mkdtemp(join(tmpdir(), "plm-frozen-"));
  try {
    await cp(join(ROOT, SCHEMA_DIR), dir, { recursive: true });
    const [name, field] = firstField(frozen.schemas);
    const file = join(dir, `${name}.json`);
    const schema = JSON.parse(await readFile(file, "utf8"));
    schema.properties[`${field}_v2`] = schema.properties[field];
    delete schema.properties[field];
    schema.required = schema.required?.map((f: string) => f === field ? `${field}_v2` : f);
    await writeFile(file, JSON.stringify(schema));

    const renamed = { api: frozen.api, schemas: await readSchemaDir(dir) };
    const drift = diffSurface(frozen, renamed);
    const at = `schemas/${name}.json#`;
    assert.ok(
      drift.some((line) => line.startsWith(`- ${at}/properties/${field}: `)),
      drift.join("\n"),
    );
    assert.ok(drift.some((line) => line.startsWith(`+ ${at}/properties/${field}_v2: `)));
    if (schema.required?.length > 0) {
      assert.ok(drift.some((line) => line.startsWith(`~ ${at}/required/`)));
    }
    assert.deepEqual(diffSurface(frozen, await readSnapshots(ROOT)), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

Deno.test("diffSurface() reports a renamed interface property in a copy of the API", async () => {
  const { api } = await currentSurface();
  const frozen = structuredClone(api);
  const [entry, symbol, index] = firstInterface(frozen);
  const property = (frozen[entry][symbol] as InterfaceDeclaration[])[index].def.properties[0];
  const original = property.name;
  property.name = `${original}Renamed`;

  const drift = diffSurface({ api: frozen, schemas: {} }, { api, schemas: {} });
  assert.deepEqual(drift, [
    `~ tests/snapshots/api.json#/${entry}/${symbol}/${index}/def/properties/0/name: ` +
    `"${original}Renamed" -> "${original}"`,
  ]);
});

Deno.test("diffJson() reports added, removed and changed values by JSON Pointer", () => {
  assert.deepEqual(
    diffJson({ a: 1, b: [1, 2], "c/d": true }, { a: 2, b: [1], e: null }, "x.json#"),
    ["~ x.json#/a: 1 -> 2", "- x.json#/b/1: 2", "- x.json#/c~1d: true", "+ x.json#/e: null"],
  );
  assert.deepEqual(diffJson(undefined, { a: 1 }, "new.json#"), ['+ new.json#: {"a":1}']);
  assert.deepEqual(diffJson({ a: [1] }, { a: [1] }, "same.json#"), []);
});

interface InterfaceDeclaration {
  kind: string;
  def: { properties: { name: string }[] };
}

/** The first contract schema with a property, and that property's name. */
function firstField(schemas: Record<string, unknown>): [string, string] {
  for (const [name, schema] of Object.entries(schemas)) {
    const properties = Object.keys((schema as { properties?: object }).properties ?? {});
    if (properties.length > 0) return [name, properties[0]];
  }
  throw new Error("no contract schema has a property");
}

/** Entry, symbol and declaration index of the first interface with a property. */
function firstInterface(api: Surface["api"]): [string, string, number] {
  for (const [entry, symbols] of Object.entries(api)) {
    for (const [symbol, declarations] of Object.entries(symbols)) {
      const index = (declarations as InterfaceDeclaration[]).findIndex((d) =>
        d.kind === "interface" && d.def.properties.length > 0
      );
      if (index >= 0) return [entry, symbol, index];
    }
  }
  throw new Error("no exported interface has a property");
}
