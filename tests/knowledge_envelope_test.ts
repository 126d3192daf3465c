import assert from "node:assert/strict";
import { z } from "zod";
import {
  type KnowledgeEnvelopeV1,
  KnowledgeEnvelopeV1 as KnowledgeEnvelopeV1Schema,
  parseKnowledgeEnvelopeV1,
} from "../src/knowledge_envelope.ts";
import { ValidationError } from "../src/errors.ts";

const TEXT_ITEM = {
  item_id: "part-4711",
  source: {
    connector_id: "3dx-rest",
    uri: "https://3dx.example.com/parts/4711",
    retrieved_at: "2025-03-01T09:59:58.123Z",
  },
  content_type: "text/plain; charset=utf-8",
  text: "Tightening torque of bolt M8: 25 Nm",
  sha256: "a".repeat(64),
  score: 0.87,
  citations: ["DS-4711 p. 3"],
};

const ARTIFACT_ITEM = {
  item_id: "drawing-12",
  source: {
    connector_id: "sharepoint",
    uri: "urn:plm:drawing:12",
    retrieved_at: "2025-03-01T11:59:59+02:00",
  },
  content_type: "application/pdf",
  artifact_uri: "s3://plm-artifacts/tenant/drawing-12.pdf",
  sha256: "0123456789abcdef".repeat(4),
  score: 0,
  citations: [],
};

const ENVELOPE = {
  schema_version: "knowledge_envelope.v1",
  envelope_id: "6f1c1a52-8d2b-4c44-9a51-2f7e0c3d9b10",
  tenant_id: "0B9C2F4E-6A1D-4C3E-9F7A-2D5B8E1C4A60",
  trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
  span_id: "00f067aa0ba902b7",
  query: "torque of bolt M8",
  items: [TEXT_ITEM, ARTIFACT_ITEM],
  quality_level: "reviewed",
  produced_at: "2025-03-01T10:00:00Z",
  producer: { product_line: "knowledge", version: "1.4.2" },
};

/** The issues of a refused value as `path: message` strings. */
function issuesOf(value: unknown): string[] {
  try {
    parseKnowledgeEnvelopeV1(value);
  } catch (error) {
    assert.ok(error instanceof ValidationError);
    assert.equal(error.code, "VALIDATION_FAILED");
    assert.equal(error.contract, "KnowledgeEnvelopeV1");
    return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
  }
  assert.fail("the value was accepted");
}

/** ENVELOPE with its first item changed. */
function withItem(change: Record<string, unknown>, drop: string[] = []): unknown {
  const item: Record<string, unknown> = { ...TEXT_ITEM, ...change };
  for (const key of drop) delete item[key];
  return { ...ENVELOPE, items: [item] };
}

Deno.test("parseKnowledgeEnvelopeV1() accepts a valid envelope", () => {
  const envelope: KnowledgeEnvelopeV1 = parseKnowledgeEnvelopeV1(ENVELOPE);
  assert.deepEqual(envelope, {
    ...ENVELOPE,
    tenant_id: "0b9c2f4e-6a1d-4c3e-9f7a-2d5b8e1c4a60",
  });
  assert.deepEqual(parseKnowledgeEnvelopeV1({ ...ENVELOPE, items: [] }).items, []);
  for (const quality_level of ["draft", "reviewed", "validated", "released"]) {
    assert.equal(
      parseKnowledgeEnvelopeV1({ ...ENVELOPE, quality_level }).quality_level,
      quality_level,
    );
  }
});

Deno.test("KnowledgeEnvelopeV1 is the same schema as the parse helper", () => {
  assert.equal(KnowledgeEnvelopeV1Schema.safeParse(ENVELOPE).success, true);
  assert.equal(KnowledgeEnvelopeV1Schema.safeParse({ ...ENVELOPE, extra: 1 }).success, false);
});

Deno.test("parseKnowledgeEnvelopeV1() refuses unknown keys at every level, naming their path", () => {
  assert.deepEqual(issuesOf({ ...ENVELOPE, score: 1 }), [
    "score: unknown field: remove it or check its spelling",
  ]);
  assert.deepEqual(issuesOf(withItem({ txt: "typo" })), [
    "items.0.txt: unknown field: remove it or check its spelling",
  ]);
  assert.deepEqual(issuesOf(withItem({ source: { ...TEXT_ITEM.source, etag: "x" } })), [
    "items.0.source.etag: unknown field: remove it or check its spelling",
  ]);
  assert.deepEqual(
    issuesOf({ ...ENVELOPE, producer: { ...ENVELOPE.producer, host: "h" } }),
    ["producer.host: unknown field: remove it or check its spelling"],
  );
});

Deno.test("parseKnowledgeEnvelopeV1() requires exactly one of text and artifact_uri", () => {
  assert.deepEqual(issuesOf(withItem({ artifact_uri: "s3://b/k" })), [
    'items.0: expected exactly one of "text" and "artifact_uri", got both',
  ]);
  assert.deepEqual(issuesOf(withItem({}, ["text"])), [
    'items.0: expected exactly one of "text" and "artifact_uri", got neither',
  ]);
  assert.match(
    issuesOf(withItem({ text: undefined, artifact_uri: "not a uri" }))[0],
    /^items\.0\.artifact_uri: /,
  );
});

Deno.test("parseKnowledgeEnvelopeV1() refuses a score outside 0..1", () => {
  for (const score of [-0.01, 1.0001, Number.NaN, Infinity, "0.5", null]) {
    const issues = issuesOf(withItem({ score }));
    assert.equal(issues.length, 1, String(score));
    assert.match(issues[0], /^items\.0\.score: /);
  }
  assert.equal(parseKnowledgeEnvelopeV1(withItem({ score: 1 })).items[0].score, 1);
});

Deno.test("parseKnowledgeEnvelopeV1() refuses timestamps that are not RFC 3339 with an offset", () => {
  for (
    const bad of [
      "2025-03-01 10:00:00Z",
      "2025-03-01T10:00:00",
      "2025-03-01",
      "2025-02-30T10:00:00Z",
      "2025-03-01T10:00:00+0200",
      1740823200000,
    ]
  ) {
    assert.match(issuesOf({ ...ENVELOPE, produced_at: bad })[0], /^produced_at: /, String(bad));
    const source = { ...TEXT_ITEM.source, retrieved_at: bad };
    assert.match(
      issuesOf(withItem({ source }))[0],
      /^items\.0\.source\.retrieved_at: /,
      String(bad),
    );
  }
});

Deno.test("parseKnowledgeEnvelopeV1() refuses a sha256 that is not 64 lowercase hex digits", () => {
  for (const sha256 of ["A".repeat(64), "a".repeat(63), "a".repeat(65), "g".repeat(64), ""]) {
    assert.deepEqual(issuesOf(withItem({ sha256 })), [
      "items.0.sha256: expected 64 lowercase hex digits",
    ]);
  }
});

Deno.test("parseKnowledgeEnvelopeV1() refuses bad ids, version, quality level and missing fields", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ schema_version: "knowledge_envelope.v2" }, "schema_version"],
    [{ envelope_id: "6f1c1a52" }, "envelope_id"],
    [{ tenant_id: "00000000-0000-0000-0000-000000000000" }, "tenant_id"],
    [{ trace_id: "0".repeat(32) }, "trace_id"],
    [{ trace_id: "4BF92F3577B34DA6A3CE929D0E0E4736" }, "trace_id"],
    [{ span_id: "00f067aa0ba902b" }, "span_id"],
    [{ query: "" }, "query"],
    [{ quality_level: "approved" }, "quality_level"],
    [{ producer: { product_line: "knowledge" } }, "producer.version"],
    [{ items: {} }, "items"],
  ];
  for (const [change, path] of cases) {
    const issues = issuesOf({ ...ENVELOPE, ...change });
    assert.equal(issues.length, 1, path);
    assert.ok(issues[0].startsWith(`${path}: `), issues[0]);
  }
  const { query: _, ...noQuery } = ENVELOPE;
  assert.match(issuesOf(noQuery)[0], /^query: /);
});

Deno.test("parseKnowledgeEnvelopeV1() names every problem at once", () => {
  const issues = issuesOf({
    ...ENVELOPE,
    span_id: "x",
    items: [{ ...TEXT_ITEM, score: 2, artifact_uri: "s3://b/k" }, { ...ARTIFACT_ITEM, sha256: "" }],
  });
  assert.deepEqual(issues.map((issue) => issue.split(":")[0]), [
    "span_id",
    "items.0.score",
    "items.0",
    "items.1.sha256",
  ]);
});

Deno.test("KnowledgeEnvelopeV1 JSON Schema is strict and states the one-of rule", () => {
  const schema = z.toJSONSchema(KnowledgeEnvelopeV1Schema as unknown as z.ZodType) as unknown as {
    additionalProperties: boolean;
    properties: { items: { items: Record<string, unknown> } };
  };
  assert.equal(schema.additionalProperties, false);
  const item = schema.properties.items.items;
  assert.equal(item.additionalProperties, false);
  assert.deepEqual(item.oneOf, [{ required: ["text"] }, { required: ["artifact_uri"] }]);
});
