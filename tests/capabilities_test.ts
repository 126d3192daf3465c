import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCapabilities, parseCapabilities } from "../src/capabilities.ts";
import { CapabilitiesError } from "../src/errors.ts";

const fixture = (name: string) => new URL(`./fixtures/capabilities/${name}`, import.meta.url);

/** The problems of a refused text as `line:column message` strings, in the reported order. */
function problemsOf(yamlText: string): string[] {
  try {
    parseCapabilities(yamlText);
  } catch (error) {
    assert.ok(error instanceof CapabilitiesError);
    assert.equal(error.code, "INVALID_CAPABILITIES");
    return error.problems.map((p) => `${p.line}:${p.column} ${p.message}`);
  }
  assert.fail("the text was accepted");
}

/** A valid file with `item` (lines of YAML, indented by 4) as the only declaration. */
function withItem(...lines: string[]): string {
  const [first, ...rest] = lines;
  return ["version: 1", "capabilities:", `  - ${first}`, ...rest.map((l) => `    ${l}`), ""]
    .join("\n");
}

Deno.test("loadCapabilities() returns a frozen registry of a valid file", async (t) => {
  const registry = await loadCapabilities(fixture("good.yaml"));

  await t.step("declarations in file order", () => {
    assert.equal(registry.version, 1);
    assert.deepEqual(registry.capabilities.map((c) => c.id), [
      "read.parts",
      "write.bom",
      "x.acme.export_step",
    ]);
    assert.deepEqual(registry.get("write.bom"), {
      id: "write.bom",
      description: "Change a bill of materials",
      risk: "high",
      requires_hitl: true,
    });
    assert.equal(registry.get("read.bom"), undefined);
  });

  await t.step("registry, list and declarations are frozen", () => {
    assert.ok(Object.isFrozen(registry));
    assert.ok(Object.isFrozen(registry.capabilities));
    assert.ok(registry.capabilities.every(Object.isFrozen));
    assert.throws(() => (registry.capabilities as unknown[]).push({}), TypeError);
  });

  await t.step("a path string works as well as a URL", async () => {
    const dir = await mkdtemp(join(tmpdir(), "caps-test-"));
    try {
      const file = join(dir, "caps.yaml");
      await writeFile(
        file,
        withItem("id: llm.call", "description: d", "risk: low", "requires_hitl: false"),
      );
      assert.equal((await loadCapabilities(file)).get("llm.call")?.risk, "low");
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});

Deno.test("loadCapabilities() reports every problem of a file in file order", async () => {
  const error = await loadCapabilities(fixture("many_problems.yaml")).then(
    () => assert.fail("accepted"),
    (e) => e,
  );
  assert.ok(error instanceof CapabilitiesError);
  assert.deepEqual(error.problems.map((p) => [p.line, p.column]), [
    [1, 10], // version: 2
    [5, 11], // risk: severe
    [7, 9], // Read.Parts
    [10, 20], // requires_hitl: no (a string in YAML 1.2)
    [11, 9], // acme.export
    [15, 5], // missing description
    [15, 9], // duplicate read.parts
    [16, 5], // unknown key descripton
    [19, 1], // unknown top-level key owner
  ]);
  assert.equal(error.line, 1);
  assert.equal(error.column, 10);
  assert.match(error.message, /^Cannot load capabilities from ".*many_problems\.yaml": /);
  assert.match(error.problems[6].message, /duplicate capability id "read\.parts".*line 3/);
});

Deno.test("loadCapabilities() reports a YAML syntax error with its position", async () => {
  const error = await loadCapabilities(fixture("syntax_error.yaml")).then(
    () => assert.fail("accepted"),
    (e) => e,
  );
  assert.ok(error instanceof CapabilitiesError);
  const syntax = error.problems.filter((p) => p.message.startsWith("invalid YAML"));
  assert.deepEqual(syntax.map((p) => [p.line, p.column]), [[8, 1]]);
  assert.match(syntax[0].message, /quote/);
});

Deno.test("loadCapabilities() passes the file system error of a missing file", async () => {
  await assert.rejects(loadCapabilities(fixture("does_not_exist.yaml")), { code: "ENOENT" });
});

Deno.test("parseCapabilities() refuses each kind of problem with its line and column", async (t) => {
  await t.step("YAML syntax: duplicate key, tab indentation, several documents", () => {
    assert.deepEqual(problemsOf("version: 1\nversion: 1\ncapabilities: []\n"), [
      "2:1 invalid YAML: Map keys must be unique",
    ]);
    assert.match(
      problemsOf("version: 1\ncapabilities:\n\t- id: a\n")[0],
      /^3:1 invalid YAML: Tabs/,
    );
    assert.match(
      problemsOf("version: 1\ncapabilities: []\n---\nversion: 1\n")[0],
      /^3:1 invalid YAML: Source contains multiple documents/,
    );
  });

  await t.step("not a mapping, empty file", () => {
    assert.deepEqual(problemsOf(""), [
      '1:1 the file must be a mapping with "version", "capabilities": got nothing',
    ]);
    assert.match(problemsOf("- read.parts\n")[0], /^1:1 the file must be a mapping.*got a list$/);
  });

  await t.step("unknown keys at top level and in a capability", () => {
    assert.deepEqual(problemsOf("version: 1\ncapabilities: []\n  # c\nowner: me\n"), [
      '4:1 unknown key "owner" in the file: expected "version", "capabilities"',
    ]);
    assert.deepEqual(
      problemsOf(
        withItem(
          "id: read.bom",
          "description: d",
          "risk: low",
          "requires_hitl: false",
          "rsik: low",
        ),
      ),
      ['7:5 unknown key "rsik" in a capability: expected "id", "description", "risk", "requires_hitl"'],
    );
  });

  await t.step("missing keys, at the mapping that lacks them", () => {
    assert.deepEqual(problemsOf("capabilities: []\n"), ['1:1 missing key "version" in the file']);
    assert.deepEqual(problemsOf(withItem("id: read.bom", "risk: low")), [
      '3:5 missing key "description" in a capability',
      '3:5 missing key "requires_hitl" in a capability',
    ]);
    assert.deepEqual(
      problemsOf(withItem("id:", "description: d", "risk: low", "requires_hitl: false")),
      ['3:8 "id" must be a string: got nothing'],
    );
  });

  await t.step("wrong types", () => {
    assert.deepEqual(problemsOf("version: 1\ncapabilities: {}\n"), [
      '2:15 "capabilities" must be a list: got a mapping',
    ]);
    assert.deepEqual(
      problemsOf(withItem("id: 42", "description: [a]", "risk: 1", "requires_hitl: 'true'")),
      [
        '3:9 "id" must be a string: got 42',
        '4:18 "description" must be a string: got a list',
        '5:11 "risk" must be a string: got 1',
        '6:20 "requires_hitl" must be true or false: got "true"',
      ],
    );
    assert.deepEqual(problemsOf("version: 1\ncapabilities:\n  - read.parts\n"), [
      '3:5 a capability must be a mapping with "id", "description", "risk", "requires_hitl": got "read.parts"',
    ]);
  });

  await t.step("wrong version", () => {
    assert.deepEqual(problemsOf("version: 2\ncapabilities: []\n"), [
      '1:10 "version" must be 1: got 2',
    ]);
    assert.deepEqual(problemsOf('version: "1"\ncapabilities: []\n'), [
      '1:10 "version" must be 1: got "1"',
    ]);
  });

  await t.step("duplicate ids", () => {
    const item = ["description: d", "risk: low", "requires_hitl: false"].map((l) => `    ${l}`);
    const text = [
      "version: 1",
      "capabilities:",
      "  - id: llm.call",
      ...item,
      "  - id: llm.call",
      ...item,
    ]
      .join("\n");
    assert.deepEqual(problemsOf(text), [
      '7:9 duplicate capability id "llm.call" (first declared at line 3)',
    ]);
  });

  await t.step("bad pattern and id outside the built-in set", () => {
    const rest = ["description: d", "risk: low", "requires_hitl: false"];
    for (const id of ["Read.parts", "read", "read..parts", "x.", "read-parts.x"]) {
      assert.deepEqual(problemsOf(withItem(`id: "${id}"`, ...rest)), [
        `3:9 capability id "${id}" does not match ^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$`,
      ]);
    }
    assert.deepEqual(problemsOf(withItem("id: acme.export", ...rest)), [
      '3:9 unknown capability "acme.export": use a built-in one or prefix it with "x."',
    ]);
  });

  await t.step("bad risk and empty description", () => {
    assert.deepEqual(
      problemsOf(
        withItem("id: llm.call", "description: ''", "risk: critical", "requires_hitl: true"),
      ),
      [
        '4:18 "description" is empty',
        '5:11 "risk" must be "low", "medium" or "high": got "critical"',
      ],
    );
  });

  await t.step("aliases are refused", () => {
    assert.deepEqual(problemsOf("version: &v 1\ncapabilities: *v\n"), [
      '2:15 "capabilities" must be a list: got an alias (write the value out)',
    ]);
  });
});

Deno.test("parseCapabilities() names the source in the message", () => {
  assert.throws(
    () => parseCapabilities("version: 3\ncapabilities: []\n", { source: "skills/caps.yaml" }),
    {
      name: "CapabilitiesError",
      message:
        'Cannot load capabilities from "skills/caps.yaml": "version" must be 1: got 3 at line 1, column 10',
    },
  );
});

Deno.test("parseCapabilities() accepts an empty list and flow style", () => {
  assert.deepEqual(parseCapabilities("version: 1\ncapabilities: []\n").capabilities, []);
  const flow = parseCapabilities(
    '{version: 1, capabilities: [{id: hitl.approve, description: "Approve", risk: medium, requires_hitl: true}]}',
  );
  assert.equal(flow.get("hitl.approve")?.risk, "medium");
});
