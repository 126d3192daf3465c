import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import fc from "fast-check";
import { NonJsonValueError, ValidationError } from "../src/errors.ts";
import { computeContentHash, IdempotencyKey, idempotencyKeyToString } from "../src/idempotency.ts";

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

function hexToText(hex: string): string {
  return new TextDecoder().decode(Uint8Array.from(hex.match(/../g)!, (b) => parseInt(b, 16)));
}

function doubleFromBits(bits: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${bits}`));
  return view.getFloat64(0);
}

/**
 * RFC 8785 examples: the input JSON text, the canonical UTF-8 bytes in hex (from the RFC and
 * its reference test data) and their SHA-256, computed independently with coreutils sha256sum.
 */
const DOCUMENTS: readonly { name: string; input: string; canonicalHex: string; hash: string }[] = [
  {
    name: "section 3.2.2 (values)",
    input: String
      .raw`{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}`,
    canonicalHex:
      "7b226c69746572616c73223a5b6e756c6c2c747275652c66616c73655d2c226e756d62657273223a5b3333333333333333332e333333333333332c31652b33302c342e352c302e3030322c31652d32375d2c22737472696e67223a22e282ac245c75303030665c6e4127425c225c5c5c5c5c222f227d",
    hash: "2d5e01a318d0f0879ab568c4be289c8b1f64ef8921a53c6277d5e069978baacb",
  },
  {
    name: "section 3.2.3 (sorting, non-BMP key)",
    input: String
      .raw`{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis"}`,
    canonicalHex:
      "7b225c72223a2243617272696167652052657475726e222c2231223a224f6e65222c22c280223a22436f6e74726f6c222c22c3b6223a224c6174696e20536d616c6c204c6574746572204f205769746820446961657265736973222c22e282ac223a224575726f205369676e222c22f09f9880223a22456d6f6a693a204772696e6e696e672046616365222c22efacb3223a22486562726577204c65747465722044616c6574205769746820446167657368227d",
    hash: "5e321556d22018a9656991a9e94f77ec175fa193e52a2429d312f8419ec8b08c",
  },
  {
    name: "weird",
    input: String
      .raw`{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\u000a": "Newline", "1": "One", "\u0080": "Control\u007f", "\ud83d\ude02": "Smiley", "\u00f6": "Latin Small Letter O With Diaeresis", "\ufb33": "Hebrew Letter Dalet With Dagesh", "</script>": "Browser Challenge"}`,
    canonicalHex:
      "7b225c6e223a224e65776c696e65222c225c72223a2243617272696167652052657475726e222c2231223a224f6e65222c223c2f7363726970743e223a2242726f77736572204368616c6c656e6765222c22c280223a22436f6e74726f6c7f222c22c3b6223a224c6174696e20536d616c6c204c6574746572204f205769746820446961657265736973222c22e282ac223a224575726f205369676e222c22f09f9882223a22536d696c6579222c22efacb3223a22486562726577204c65747465722044616c6574205769746820446167657368227d",
    hash: "6af595a9aa80110b964b4de3f82a05fa6ae7423005019bacfa2620dddc4e94d1",
  },
  {
    name: "arrays",
    input: String.raw`[56, {"d": true, "10": null, "1": [ ]}]`,
    canonicalHex: "5b35362c7b2231223a5b5d2c223130223a6e756c6c2c2264223a747275657d5d",
    hash: "099601b171cafed97c333f8878d68e7f8c8f795412adb34b2fdcf0e7c7beac42",
  },
  {
    name: "structures",
    input: String
      .raw`{"1": {"f": {"f": "hi","F": 5} ,"\n": 56.0}, "10": { }, "": "empty", "a": { }, "111": [ {"e": "yes","E": "no" } ], "A": { }}`,
    canonicalHex:
      "7b22223a22656d707479222c2231223a7b225c6e223a35362c2266223a7b2246223a352c2266223a226869227d7d2c223130223a7b7d2c22313131223a5b7b2245223a226e6f222c2265223a22796573227d5d2c2241223a7b7d2c2261223a7b7d7d",
    hash: "605f65004ec2db7692522a0852c22f1c989e036d547e88963d1a3143cf3195d5",
  },
  {
    name: "french (no locale)",
    input: String
      .raw`{"peach": "This sorting order", "péché": "is wrong according to French", "pêche": "but canonicalization MUST", "sin": "ignore locale"}`,
    canonicalHex:
      "7b227065616368223a225468697320736f7274696e67206f72646572222c2270c3a96368c3a9223a2269732077726f6e67206163636f7264696e6720746f204672656e6368222c2270c3aa636865223a226275742063616e6f6e6963616c697a6174696f6e204d555354222c2273696e223a2269676e6f7265206c6f63616c65227d",
    hash: "d99d0ebdcb0033cb858cfa830ae46bc0fb3309413b271f1da828c89901a27ed5",
  },
  {
    name: "unicode (no normalisation)",
    input: String.raw`{"Unnormalized Unicode":"A\u030a"}`,
    canonicalHex: "7b22556e6e6f726d616c697a656420556e69636f6465223a2241cc8a227d",
    hash: "0d99aad92a125196ff887876643fd3206786a84ddce2cee52ba4ad256d2381d3",
  },
];

/** RFC 8785 appendix B: IEEE-754 bit patterns and their canonical text. */
const NUMBERS: readonly [string, string][] = [
  ["0000000000000000", "0"],
  ["8000000000000000", "0"],
  ["0000000000000001", "5e-324"],
  ["8000000000000001", "-5e-324"],
  ["7fefffffffffffff", "1.7976931348623157e+308"],
  ["ffefffffffffffff", "-1.7976931348623157e+308"],
  ["4340000000000000", "9007199254740992"],
  ["c340000000000000", "-9007199254740992"],
  ["4430000000000000", "295147905179352830000"],
  ["44b52d02c7e14af5", "9.999999999999997e+22"],
  ["44b52d02c7e14af6", "1e+23"],
  ["44b52d02c7e14af7", "1.0000000000000001e+23"],
  ["444b1ae4d6e2ef4e", "999999999999999700000"],
  ["444b1ae4d6e2ef4f", "999999999999999900000"],
  ["444b1ae4d6e2ef50", "1e+21"],
  ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
  ["3eb0c6f7a0b5ed8d", "0.000001"],
  ["41b3de4355555553", "333333333.3333332"],
  ["41b3de4355555554", "333333333.33333325"],
  ["41b3de4355555555", "333333333.3333333"],
  ["41b3de4355555556", "333333333.3333334"],
  ["41b3de4355555557", "333333333.33333343"],
  ["becbf647612f3696", "-0.0000033333333333333333"],
  ["43143ff3c1cb0959", "1424953923781206.2"],
];

Deno.test("computeContentHash() matches the RFC 8785 examples byte for byte", async (t) => {
  for (const vector of DOCUMENTS) {
    await t.step(vector.name, () => {
      const expected = hexToText(vector.canonicalHex);
      const value = JSON.parse(vector.input);
      assert.equal(canonicalize(value), expected);
      assert.equal(sha256(expected), vector.hash);
      assert.equal(computeContentHash(value), vector.hash);
    });
  }
});

Deno.test("computeContentHash() writes numbers as RFC 8785 appendix B", () => {
  for (const [bits, text] of NUMBERS) {
    const value = doubleFromBits(bits);
    assert.equal(computeContentHash(value), sha256(text), `${bits} → ${text}`);
    assert.equal(computeContentHash({ n: value }), sha256(`{"n":${text}}`), `${bits} in object`);
  }
  assert.equal(computeContentHash(-0), sha256("0"));
});

Deno.test("computeContentHash() behaviour on accepted values", async (t) => {
  await t.step("key order does not matter, at every level", () => {
    assert.equal(
      computeContentHash({ b: [{ z: 1, a: 2 }], a: { d: true, c: null } }),
      sha256('{"a":{"c":null,"d":true},"b":[{"a":2,"z":1}]}'),
    );
  });
  await t.step("an object without prototype hashes like a plain one", () => {
    const bare = Object.assign(Object.create(null), { a: 1 });
    assert.equal(computeContentHash(bare), computeContentHash({ a: 1 }));
  });
  await t.step("a repeated (non-cyclic) reference is not a cycle", () => {
    const shared = { v: 1 };
    assert.equal(computeContentHash({ a: shared, b: shared }), sha256('{"a":{"v":1},"b":{"v":1}}'));
  });
  await t.step("100,000 levels of nesting do not overflow the stack", () => {
    let value: unknown = [];
    for (let i = 0; i < 100_000; i++) value = [value];
    assert.equal(computeContentHash(value), sha256("[".repeat(100_001) + "]".repeat(100_001)));
  });
  await t.step("primitives at the root", () => {
    assert.equal(computeContentHash(null), sha256("null"));
    assert.equal(computeContentHash("é"), sha256('"é"'));
    assert.equal(computeContentHash(true), sha256("true"));
  });
});

Deno.test("computeContentHash() refuses non-JSON values with their path", async (t) => {
  const cyclic: Record<string, unknown> = { x: {} };
  (cyclic.x as Record<string, unknown>).self = cyclic;
  class Part {
    id = 1;
  }
  const cases: [string, unknown, string][] = [
    ["NaN", { a: NaN }, "$.a"],
    ["Infinity", { a: [1, Infinity] }, "$.a[1]"],
    ["-Infinity at the root", -Infinity, "$"],
    ["BigInt", { n: 1n }, "$.n"],
    ["undefined in an array", [1, undefined], "$[1]"],
    ["a hole in a sparse array", [1, , 3], "$[1]"],
    ["undefined as a property value", { a: { b: undefined } }, "$.a.b"],
    ["a function", { "on change": () => 1 }, '$["on change"]'],
    ["a symbol value", { s: Symbol("x") }, "$.s"],
    ["a symbol key", { [Symbol("k")]: 1 }, "$"],
    ["a cycle", cyclic, "$.x.self"],
    ["a lone surrogate in a string", { s: "a\ud800" }, "$.s"],
    ["a lone surrogate in a key", { ok: { "\udc00": 1 } }, '$.ok["\\udc00"]'],
    ["a Date", { at: new Date(0) }, "$.at"],
    ["a Map", { m: new Map() }, "$.m"],
    ["a class instance", [new Part()], "$[0]"],
    ["a boxed number", { n: new Number(1) }, "$.n"],
    ["a plain object with toJSON", { v: { toJSON: () => "x" } }, "$.v.toJSON"],
  ];
  for (const [name, value, path] of cases) {
    await t.step(name, () => {
      assert.throws(() => computeContentHash(value), (error: unknown) => {
        assert.ok(error instanceof NonJsonValueError);
        assert.equal(error.code, "NON_JSON_VALUE");
        assert.equal(error.path, path);
        return true;
      });
    });
  }
});

const KEY: IdempotencyKey = {
  tenant_id: "0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e",
  trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
  span_id: "00f067aa0ba902b7",
  event_type: "skill.run.started",
  content_hash: "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
};

Deno.test("idempotencyKeyToString() behaviour", async (t) => {
  await t.step("writes the frozen v1 format", () => {
    assert.equal(
      idempotencyKeyToString(KEY),
      "v1:0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e:4bf92f3577b34da6a3ce929d0e0e4736:" +
        "00f067aa0ba902b7:skill.run.started:" +
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    );
  });
  await t.step("lowercases the tenant id", () => {
    const upper = { ...KEY, tenant_id: KEY.tenant_id.toUpperCase() };
    assert.equal(idempotencyKeyToString(upper), idempotencyKeyToString(KEY));
  });
  await t.step("a colon or percent sign inside a field cannot cause a collision", () => {
    const a = idempotencyKeyToString({ ...KEY, trace_id: "a:b", span_id: "c" });
    const b = idempotencyKeyToString({ ...KEY, trace_id: "a", span_id: "b:c" });
    assert.notEqual(a, b);
    assert.equal(idempotencyKeyToString({ ...KEY, event_type: "x%3Ay" }).split(":")[4], "x%253Ay");
  });
  await t.step("every field decodes back from its string (property)", () => {
    const field = fc.stringMatching(/^[\x21-\x7e]{1,128}$/);
    fc.assert(fc.property(field, field, field, (trace_id, span_id, event_type) => {
      const key = { ...KEY, trace_id, span_id, event_type };
      const [version, ...fields] = idempotencyKeyToString(key).split(":");
      assert.equal(version, "v1");
      assert.deepEqual(fields.map(decodeURIComponent), [
        key.tenant_id,
        trace_id,
        span_id,
        event_type,
        key.content_hash,
      ]);
    }));
  });
  await t.step("refuses an invalid key with a ValidationError naming the field", () => {
    const cases: [string, unknown, string][] = [
      ["uppercase hash", { ...KEY, content_hash: KEY.content_hash.toUpperCase() }, "content_hash"],
      ["short hash", { ...KEY, content_hash: "abc" }, "content_hash"],
      ["not a uuid", { ...KEY, tenant_id: "tenant-1" }, "tenant_id"],
      ["nil uuid", { ...KEY, tenant_id: "00000000-0000-0000-0000-000000000000" }, "tenant_id"],
      ["empty trace", { ...KEY, trace_id: "" }, "trace_id"],
      ["space in span", { ...KEY, span_id: "a b" }, "span_id"],
      ["129 characters", { ...KEY, event_type: "e".repeat(129) }, "event_type"],
      ["non-ASCII", { ...KEY, event_type: "é" }, "event_type"],
      ["missing field", { ...KEY, trace_id: undefined }, "trace_id"],
    ];
    for (const [name, key, path] of cases) {
      assert.throws(() => idempotencyKeyToString(key as IdempotencyKey), (error: unknown) => {
        assert.ok(error instanceof ValidationError, name);
        assert.equal(error.code, "VALIDATION_FAILED");
        assert.deepEqual(error.issues.map((issue) => issue.path), [path], name);
        return true;
      });
    }
  });
  await t.step("refuses an unknown field", () => {
    const error = IdempotencyKey.safeParse({ ...KEY, extra: 1 });
    assert.equal(error.success, false);
    assert.throws(
      () => idempotencyKeyToString({ ...KEY, extra: 1 } as IdempotencyKey),
      ValidationError,
    );
  });
});
