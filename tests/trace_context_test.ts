import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { ContextMissingError, ValidationError } from "../src/errors.ts";
import {
  childSpan,
  currentTraceContext,
  extractTraceContext,
  formatTraceparent,
  injectTraceContext,
  newTraceContext,
  parseTraceparent,
  requireTraceContext,
  type TraceContext,
  withTraceContext,
} from "../src/trace_context.ts";

const TRACE = "12345678901234567890123456789012";
const PARENT = "1234567890123456";
const VALID = `00-${TRACE}-${PARENT}-01`;

/** The server span for headers given as [name, value] lines (several lines of one name allowed). */
function extract(lines: [string, string][]): TraceContext {
  const headers = new Headers();
  for (const [name, value] of lines) headers.append(name, value);
  return extractTraceContext(headers);
}

/** The tracestate kept for one or more `tracestate` lines under a valid traceparent. */
function traceState(...lines: string[]): TraceContext["traceState"] {
  const ctx = extract([
    ["traceparent", VALID],
    ...lines.map((l): [string, string] => ["tracestate", l]),
  ]);
  assert.equal(ctx.traceId, TRACE);
  return ctx.traceState;
}

Deno.test("parseTraceparent() follows W3C Trace Context Level 1", async (t) => {
  const invalid = (value: string) => assert.equal(parseTraceparent(value), undefined, value);

  await t.step("valid version 00: ids and sampled flag", () => {
    assert.deepEqual(parseTraceparent(VALID), {
      traceId: TRACE,
      spanId: PARENT,
      traceFlags: 1,
      traceState: [],
    });
    assert.equal(parseTraceparent(`00-${TRACE}-${PARENT}-00`)?.traceFlags, 0);
  });
  await t.step("only the sampled bit of the flags is kept", () => {
    assert.equal(parseTraceparent(`00-${TRACE}-${PARENT}-03`)?.traceFlags, 1);
    assert.equal(parseTraceparent(`00-${TRACE}-${PARENT}-fe`)?.traceFlags, 0);
  });
  await t.step("the result is frozen", () => {
    const ctx = parseTraceparent(VALID)!;
    assert.ok(Object.isFrozen(ctx) && Object.isFrozen(ctx.traceState));
  });
  await t.step("uppercase hex is invalid in every field", () => {
    invalid(`00-A${TRACE.slice(1)}-${PARENT}-01`);
    invalid(`00-abcdef7890123456789012345678901A-${PARENT}-01`);
    invalid(`00-${TRACE}-ABCDEF7890123456-01`);
    invalid(`00-${TRACE}-${PARENT}-0A`);
    invalid(`CC-${TRACE}-${PARENT}-01`);
  });
  await t.step("all-zero trace id or parent id is invalid", () => {
    invalid(`00-${"0".repeat(32)}-${PARENT}-01`);
    invalid(`00-${TRACE}-${"0".repeat(16)}-01`);
  });
  await t.step("version ff is invalid", () => invalid(`ff-${TRACE}-${PARENT}-01`));
  await t.step("version with illegal characters or wrong length is invalid", () => {
    for (const version of [".0", "0.", "0", "000", "0000", "g0"]) {
      invalid(`${version}-${TRACE}-${PARENT}-01`);
    }
  });
  await t.step("trace id with illegal characters or wrong length is invalid", () => {
    invalid(`00-.${TRACE.slice(1)}-${PARENT}-01`);
    invalid(`00-${TRACE.slice(0, 31)}.-${PARENT}-01`);
    invalid(`00-${TRACE}3-${PARENT}-01`);
    invalid(`00-${TRACE.slice(1)}-${PARENT}-01`);
  });
  await t.step("parent id with illegal characters or wrong length is invalid", () => {
    invalid(`00-${TRACE}-.${PARENT.slice(1)}-01`);
    invalid(`00-${TRACE}-${PARENT.slice(0, 15)}.-01`);
    invalid(`00-${TRACE}-${PARENT}7-01`);
    invalid(`00-${TRACE}-${PARENT.slice(1)}-01`);
  });
  await t.step("flags with illegal characters or wrong length are invalid", () => {
    for (const flags of [".0", "0.", "001", "1", "0g"]) invalid(`00-${TRACE}-${PARENT}-${flags}`);
  });
  await t.step("version 00 must be exactly 55 characters", () => {
    invalid(`${VALID}.`);
    invalid(`${VALID}-what-the-future-will-be-like`);
  });
  await t.step("a future version is read from its first four fields", () => {
    assert.equal(parseTraceparent(`cc-${TRACE}-${PARENT}-01`)?.traceId, TRACE);
    const longer = parseTraceparent(`cc-${TRACE}-${PARENT}-01-what-the-future-will-be-like`);
    assert.equal(longer?.traceId, TRACE);
    assert.equal(longer?.spanId, PARENT);
    assert.equal(longer?.traceFlags, 1);
  });
  await t.step("a longer future version must continue with '-'", () => {
    invalid(`cc-${TRACE}-${PARENT}-01.what-the-future-will-be-like`);
  });
  await t.step("a future version shorter than 55 characters is invalid", () => {
    invalid(`cc-${TRACE}-${PARENT}-1`);
    invalid(`cc-${TRACE}-${PARENT}`);
  });
  await t.step("only SP and HTAB are trimmed at the ends", () => {
    for (const value of [` ${VALID}`, `\t${VALID}`, `${VALID} `, `${VALID}\t`, `\t ${VALID} \t`]) {
      assert.equal(parseTraceparent(value)?.traceId, TRACE, JSON.stringify(value));
    }
    for (const value of [`\n${VALID}`, `${VALID}\r`, `\u00a0${VALID}`, `${VALID}\v`]) {
      invalid(value);
    }
    invalid(`00-${TRACE} -${PARENT}-01`);
  });
  await t.step("two merged headers (a comma) are invalid", () => {
    invalid(`${VALID},${VALID}`);
    invalid(`${VALID}, 00-${TRACE}-${PARENT}-00`);
    invalid(`cc-${TRACE}-${PARENT}-01,cc-${TRACE}-${PARENT}-01`);
    invalid(`cc-${TRACE}-${PARENT}-01-x,y`);
  });
  await t.step("empty and garbage values are invalid", () => {
    for (const value of ["", " ", "00", "x".repeat(55), "-".repeat(55)]) invalid(value);
  });
});

Deno.test("formatTraceparent() writes version 00 with two lowercase hex flag digits", async (t) => {
  const ctx = { traceId: TRACE, spanId: PARENT, traceFlags: 1, traceState: [] };
  await t.step("sampled and unsampled", () => {
    assert.equal(formatTraceparent(ctx), VALID);
    assert.equal(formatTraceparent({ ...ctx, traceFlags: 0 }), `00-${TRACE}-${PARENT}-00`);
  });
  await t.step("bits other than sampled are not sent", () => {
    assert.equal(formatTraceparent({ ...ctx, traceFlags: 0xff }), VALID);
    assert.equal(formatTraceparent({ ...ctx, traceFlags: 0x02 }), `00-${TRACE}-${PARENT}-00`);
  });
  await t.step("round-trips through parseTraceparent()", () => {
    const fresh = newTraceContext();
    assert.equal(
      formatTraceparent(parseTraceparent(formatTraceparent(fresh))!),
      formatTraceparent(fresh),
    );
  });
  await t.step("refuses an invalid context, naming the field", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...ctx, traceId: TRACE.toUpperCase().replace(/1/g, "A") }, "traceId"],
      [{ ...ctx, traceId: "0".repeat(32) }, "traceId"],
      [{ ...ctx, spanId: "0".repeat(16) }, "spanId"],
      [{ ...ctx, spanId: PARENT.slice(1) }, "spanId"],
      [{ ...ctx, parentSpanId: "x" }, "parentSpanId"],
      [{ ...ctx, traceFlags: 256 }, "traceFlags"],
      [{ ...ctx, traceFlags: 0.5 }, "traceFlags"],
      [{ ...ctx, traceState: [["FOO", "1"]] }, "traceState.0.0"],
      [{ ...ctx, traceState: [["foo", ""]] }, "traceState.0.1"],
      [{ ...ctx, traceState: [["foo", "1"], ["foo", "2"]] }, "traceState"],
      [{ ...ctx, traceState: Array.from({ length: 33 }, (_, i) => [`k${i}`, "v"]) }, "traceState"],
      [{ ...ctx, sampled: true }, "sampled"],
    ];
    for (const [bad, path] of cases) {
      assert.throws(
        () => formatTraceparent(bad as unknown as TraceContext),
        (error) => error instanceof ValidationError && error.issues.some((i) => i.path === path),
        path,
      );
    }
  });
});

Deno.test("extractTraceContext() derives the server span and never throws", async (t) => {
  await t.step("a valid traceparent gives a child of the caller's span", () => {
    const ctx = extract([["traceparent", `00-${TRACE}-${PARENT}-00`]]);
    assert.equal(ctx.traceId, TRACE);
    assert.equal(ctx.parentSpanId, PARENT);
    assert.notEqual(ctx.spanId, PARENT);
    assert.match(ctx.spanId, /^[0-9a-f]{16}$/);
    assert.equal(ctx.traceFlags, 0);
    assert.ok(Object.isFrozen(ctx));
  });
  await t.step("each request gets its own span id", () => {
    const spans = new Set(
      Array.from({ length: 50 }, () => extract([["traceparent", VALID]]).spanId),
    );
    assert.equal(spans.size, 50);
  });
  await t.step("no traceparent starts a new sampled trace", () => {
    const ctx = extract([]);
    assert.match(ctx.traceId, /^(?!0{32})[0-9a-f]{32}$/);
    assert.equal(ctx.parentSpanId, undefined);
    assert.equal(ctx.traceFlags, 1);
    assert.deepEqual(ctx.traceState, []);
  });
  await t.step("an invalid traceparent starts a new trace and drops tracestate", () => {
    for (const value of [`00-${"0".repeat(32)}-${PARENT}-01`, `ff-${TRACE}-${PARENT}-01`, "junk"]) {
      const ctx = extract([["traceparent", value], ["tracestate", "foo=1"]]);
      assert.notEqual(ctx.traceId, TRACE);
      assert.notEqual(ctx.traceId, "0".repeat(32));
      assert.equal(ctx.parentSpanId, undefined);
      assert.deepEqual(ctx.traceState, []);
    }
  });
  await t.step("two traceparent header lines start a new trace", () => {
    const ctx = extract([["traceparent", VALID], ["traceparent", `00-${TRACE}-${PARENT}-00`]]);
    assert.notEqual(ctx.traceId, TRACE);
  });
  await t.step("tracestate without traceparent is ignored", () => {
    assert.deepEqual(extract([["tracestate", "foo=1,bar=2"]]).traceState, []);
  });
});

Deno.test("extractTraceContext() reads tracestate strictly", async (t) => {
  const dropped = (...lines: string[]) =>
    assert.deepEqual(traceState(...lines), [], lines.join(" | "));

  await t.step("members are kept in order with their values", () => {
    assert.deepEqual(traceState("foo=1,bar=2"), [["foo", "1"], ["bar", "2"]]);
  });
  await t.step("several header lines are combined in order", () => {
    assert.deepEqual(traceState("foo=1,bar=2", "rojo=1,congo=2", "baz=3"), [
      ["foo", "1"],
      ["bar", "2"],
      ["rojo", "1"],
      ["congo", "2"],
      ["baz", "3"],
    ]);
  });
  await t.step("optional SP/HTAB around members is allowed", () => {
    const expected = [["foo", "1"], ["bar", "2"], ["baz", "3"]];
    assert.deepEqual(traceState("foo=1 \t , \t bar=2, \t baz=3"), expected);
    assert.deepEqual(traceState("foo=1\t \t,\t \tbar=2,\t \tbaz=3"), expected);
    for (const line of [" foo=1", "\tfoo=1", "foo=1 ", "foo=1\t", "\t foo=1 \t"]) {
      assert.deepEqual(traceState(line), [["foo", "1"]], JSON.stringify(line));
    }
  });
  await t.step("empty members and empty header lines are skipped", () => {
    assert.deepEqual(traceState(""), []);
    assert.deepEqual(traceState("foo=1", ""), [["foo", "1"]]);
    assert.deepEqual(traceState("", "foo=1"), [["foo", "1"]]);
    assert.deepEqual(traceState(",foo=1,, ,\t,bar=2,"), [["foo", "1"], ["bar", "2"]]);
  });
  await t.step("every allowed key and value character is accepted", () => {
    const key = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
    let value = "";
    for (let c = 0x20; c <= 0x7e; c++) {
      if (c !== 0x2c && c !== 0x3d) value += String.fromCharCode(c);
    }
    assert.deepEqual(traceState(`${key}=${value}`), [[key, value]]);
    assert.deepEqual(traceState(`${key}@a-z0-9_-*/=${value}`), [[`${key}@a-z0-9_-*/`, value]]);
    assert.deepEqual(traceState("0tenant@vendor=x"), [["0tenant@vendor", "x"]]);
  });
  await t.step("an illegal key discards the whole tracestate", () => {
    for (const member of ["foo =1", "FOO=1", "foo.bar=1", "0foo=1", "=1", "foo"]) {
      dropped(`bar=2,${member}`);
    }
  });
  await t.step("an illegal multi-tenant key discards the whole tracestate", () => {
    for (const member of ["foo@=1", "@foo=1", "foo@@bar=1", "foo@bar@baz=1", "foo@0bar=1"]) {
      dropped(`${member},bar=2`);
    }
  });
  await t.step("key length limits: 256, tenant 241, system 14", () => {
    assert.equal(traceState("foo=1", `${"z".repeat(256)}=1`).length, 2);
    dropped("foo=1", `${"z".repeat(257)}=1`);
    assert.equal(traceState("foo=1", `${"t".repeat(241)}@${"v".repeat(14)}=1`).length, 2);
    dropped("foo=1", `${"t".repeat(242)}@v=1`);
    dropped("foo=1", `t@${"v".repeat(15)}=1`);
  });
  await t.step("illegal values discard the whole tracestate", () => {
    for (const member of ["foo=bar=baz", "foo=", "foo=é", "foo=a\x7fb", "foo=a\tb"]) {
      dropped(`bar=2,${member}`);
    }
    assert.deepEqual(traceState("foo=a b"), [["foo", "a b"]]);
    assert.deepEqual(traceState("foo= b"), [["foo", " b"]]);
  });
  await t.step("value length limit: 256", () => {
    assert.deepEqual(traceState(`foo=${"v".repeat(256)}`), [["foo", "v".repeat(256)]]);
    dropped(`foo=${"v".repeat(257)}`);
  });
  await t.step("32 members are kept, 33 discard the whole tracestate", () => {
    const members = (n: number) => Array.from({ length: n }, (_, i) => `bar${i + 1}=${i + 1}`);
    assert.equal(traceState(members(10).join(","), members(32).slice(10).join(",")).length, 32);
    assert.equal(traceState(`,,${members(32).join(", ,")},`).length, 32);
    dropped(members(10).join(","), members(33).slice(10).join(","));
  });
  await t.step("a duplicate key keeps the left-most member", () => {
    assert.deepEqual(traceState("foo=1,foo=2"), [["foo", "1"]]);
    assert.deepEqual(traceState("foo=1", "bar=3,foo=2"), [["foo", "1"], ["bar", "3"]]);
  });
});

Deno.test("injectTraceContext() writes the headers of an outgoing call", async (t) => {
  await t.step("traceparent and tracestate serialised without spaces", () => {
    const ctx = extract([["traceparent", VALID], ["tracestate", "foo=1 , bar=a b"]]);
    const headers = injectTraceContext(new Headers(), ctx);
    assert.equal(headers.get("traceparent"), `00-${TRACE}-${ctx.spanId}-01`);
    assert.equal(headers.get("tracestate"), "foo=1,bar=a b");
  });
  await t.step("removes a stale tracestate when the context has none", () => {
    const headers = new Headers({ tracestate: "old=1" });
    injectTraceContext(headers, newTraceContext());
    assert.equal(headers.get("tracestate"), null);
  });
  await t.step("uses the current context when none is given", () => {
    const ctx = newTraceContext();
    const headers = withTraceContext(ctx, () => injectTraceContext(new Headers()));
    assert.equal(headers.get("traceparent"), formatTraceparent(ctx));
  });
  await t.step("throws TRACE_CONTEXT_MISSING outside any context", () => {
    assert.throws(() => injectTraceContext(new Headers()), {
      name: "ContextMissingError",
      code: "TRACE_CONTEXT_MISSING",
    });
  });
  await t.step("refuses an invalid context and leaves the headers alone", () => {
    const headers = new Headers({ traceparent: VALID });
    const bad = { traceId: "nope", spanId: PARENT, traceFlags: 1, traceState: [] };
    assert.throws(() => injectTraceContext(headers, bad), ValidationError);
    assert.equal(headers.get("traceparent"), VALID);
  });
});

Deno.test("withTraceContext() scopes the current context", async (t) => {
  await t.step("requireTraceContext() throws outside, currentTraceContext() is undefined", () => {
    assert.equal(currentTraceContext(), undefined);
    assert.throws(() => requireTraceContext(), ContextMissingError);
  });
  await t.step("a hand-built context is validated and stored as a frozen copy", () => {
    const ctx = {
      traceId: TRACE,
      spanId: PARENT,
      traceFlags: 1,
      traceState: [["foo", "1"]] as const,
    };
    withTraceContext(ctx, () => {
      const current = requireTraceContext();
      assert.notEqual(current, ctx);
      assert.deepEqual(current, ctx);
      assert.ok(Object.isFrozen(current) && Object.isFrozen(current.traceState[0]));
      assert.throws(() => (current as { traceId: string }).traceId = "x", TypeError);
    });
  });
  await t.step("an invalid context throws before fn runs", () => {
    let ran = false;
    const bad = { traceId: TRACE, spanId: "0".repeat(16), traceFlags: 1, traceState: [] };
    assert.throws(() => withTraceContext(bad, () => (ran = true)), ValidationError);
    assert.equal(ran, false);
  });
  await t.step("carried across await, setTimeout and Promise.all", async () => {
    const ctx = newTraceContext();
    await withTraceContext(ctx, async () => {
      await delay(2);
      assert.equal(currentTraceContext(), ctx);
      const seen = await new Promise((resolve) =>
        setTimeout(() => resolve(currentTraceContext()), 1)
      );
      assert.equal(seen, ctx);
      const all = await Promise.all([1, 2, 3].map(async (ms) => {
        await delay(ms);
        return currentTraceContext();
      }));
      assert.deepEqual(all, [ctx, ctx, ctx]);
    });
    assert.equal(currentTraceContext(), undefined);
  });
  await t.step("nested runs shadow and then restore the outer context", async () => {
    const outer = newTraceContext();
    await withTraceContext(outer, async () => {
      const inner = childSpan();
      await withTraceContext(inner, async () => {
        await delay(1);
        assert.equal(currentTraceContext(), inner);
      });
      assert.equal(currentTraceContext(), outer);
      assert.throws(() =>
        withTraceContext(inner, () => {
          throw new Error("boom");
        }), /boom/);
      assert.equal(currentTraceContext(), outer);
    });
  });
  await t.step("1,000 interleaved concurrent runs see only their own context", async () => {
    const seen = await Promise.all(Array.from({ length: 1000 }, async () => {
      const ctx = newTraceContext();
      return await withTraceContext(ctx, async () => {
        await delay(Math.floor(Math.random() * 4));
        const afterTimer = currentTraceContext();
        await Promise.resolve();
        const child = childSpan();
        await delay(Math.floor(Math.random() * 3));
        return afterTimer === ctx && currentTraceContext() === ctx &&
          child.parentSpanId === ctx.spanId;
      });
    }));
    assert.equal(seen.filter(Boolean).length, 1000);
    assert.equal(currentTraceContext(), undefined);
  });
});

Deno.test("childSpan() derives a new span in the same trace", async (t) => {
  await t.step("under the current context", () => {
    const parent = extract([["traceparent", VALID], ["tracestate", "foo=1"]]);
    withTraceContext(parent, () => {
      const child = childSpan();
      assert.equal(child.traceId, TRACE);
      assert.equal(child.parentSpanId, parent.spanId);
      assert.notEqual(child.spanId, parent.spanId);
      assert.equal(child.traceFlags, parent.traceFlags);
      assert.deepEqual(child.traceState, [["foo", "1"]]);
      assert.ok(Object.isFrozen(child));
      assert.equal(requireTraceContext(), parent, "the current context is unchanged");
    });
  });
  await t.step("from an explicit parent, validated", () => {
    const child = childSpan({ traceId: TRACE, spanId: PARENT, traceFlags: 0, traceState: [] });
    assert.equal(child.parentSpanId, PARENT);
    assert.equal(child.traceFlags, 0);
    assert.throws(
      () => childSpan({ traceId: "x", spanId: PARENT, traceFlags: 0, traceState: [] }),
      ValidationError,
    );
  });
  await t.step("outside any context it starts a new root trace", () => {
    const root = childSpan();
    assert.equal(root.parentSpanId, undefined);
    assert.match(formatTraceparent(root), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });
});

Deno.test("newTraceContext() starts distinct sampled root traces", () => {
  const contexts = Array.from({ length: 100 }, () => newTraceContext());
  assert.equal(new Set(contexts.map((ctx) => ctx.traceId)).size, 100);
  for (const ctx of contexts) {
    assert.equal(parseTraceparent(formatTraceparent(ctx))?.traceId, ctx.traceId);
    assert.ok(Object.isFrozen(ctx));
  }
});
