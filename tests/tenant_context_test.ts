import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { ContextMissingError, ValidationError } from "../src/errors.ts";
import { currentTenant, requireTenant, withTenant } from "../src/tenant_context.ts";
import { currentTraceContext, newTraceContext, withTraceContext } from "../src/trace_context.ts";

const TENANT = "0b9c2f4e-6a1d-4c3e-9f7a-2d5b8e1c4a60";
const OTHER = "7d444840-9dc0-11d1-b245-5ffdce74fad2";

Deno.test("withTenant() checks the tenant id before running", async (t) => {
  await t.step("a UUID of any version and case is accepted, stored in lowercase", () => {
    assert.equal(withTenant(TENANT.toUpperCase(), requireTenant), TENANT);
    assert.equal(withTenant(OTHER, requireTenant), OTHER);
    assert.equal(
      withTenant("01890a5d-ac96-774b-bcce-b302099a8057", requireTenant),
      "01890a5d-ac96-774b-bcce-b302099a8057",
    );
  });
  await t.step("anything else throws a ValidationError naming tenantId; fn never runs", () => {
    const bad = [
      "",
      "not-a-uuid",
      `{${TENANT}}`,
      `${TENANT} `,
      ` ${TENANT}`,
      `${TENANT}, ${OTHER}`,
      TENANT.replaceAll("-", ""),
      TENANT.slice(0, -1),
      `${TENANT}0`,
      "0b9c2f4e-6a1d-4c3e-9f7a-2d5b8e1c4a6g",
      "0b9c2f4e-6a1d-0c3e-9f7a-2d5b8e1c4a60", // version 0
      "0b9c2f4e-6a1d-4c3e-1f7a-2d5b8e1c4a60", // variant 0
      "00000000-0000-0000-0000-000000000000",
      "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
      42 as unknown as string,
      undefined as unknown as string,
    ];
    for (const tenantId of bad) {
      let ran = false;
      assert.throws(
        () => withTenant(tenantId, () => (ran = true)),
        (error) =>
          error instanceof ValidationError && error.code === "VALIDATION_FAILED" &&
          error.issues[0].path === "tenantId",
        String(tenantId),
      );
      assert.equal(ran, false);
    }
  });
  await t.step("the error message does not echo the value", () => {
    const secret = "s3cr3t-token-value";
    assert.throws(() => withTenant(secret, () => {}), (error) => !String(error).includes(secret));
  });
  await t.step("returns what fn returns, and rethrows what it throws", async () => {
    assert.equal(await withTenant(TENANT, () => Promise.resolve(7)), 7);
    assert.throws(() =>
      withTenant(TENANT, () => {
        throw new RangeError("inner");
      }), RangeError);
  });
});

Deno.test("requireTenant() and currentTenant() read the scoped tenant", async (t) => {
  await t.step("outside withTenant: undefined, and TENANT_CONTEXT_MISSING", () => {
    assert.equal(currentTenant(), undefined);
    assert.throws(
      () => requireTenant(),
      (error) => error instanceof ContextMissingError && error.code === "TENANT_CONTEXT_MISSING",
    );
  });
  await t.step("carried across await, setTimeout and Promise.all", async () => {
    await withTenant(TENANT, async () => {
      await delay(2);
      assert.equal(requireTenant(), TENANT);
      const seen = await new Promise((resolve) => setTimeout(() => resolve(currentTenant()), 1));
      assert.equal(seen, TENANT);
      const all = await Promise.all([3, 1, 2].map(async (ms) => {
        await delay(ms);
        return currentTenant();
      }));
      assert.deepEqual(all, [TENANT, TENANT, TENANT]);
    });
    assert.equal(currentTenant(), undefined);
  });
  await t.step("a timer scheduled inside keeps its tenant after the run returned", async () => {
    const later = withTenant(TENANT, () => delay(5).then(() => currentTenant()));
    assert.equal(currentTenant(), undefined);
    assert.equal(await later, TENANT);
  });
  await t.step("nested runs shadow and then restore the outer tenant", async () => {
    await withTenant(TENANT, async () => {
      await withTenant(OTHER, async () => {
        await delay(1);
        assert.equal(requireTenant(), OTHER);
      });
      assert.equal(requireTenant(), TENANT);
      assert.throws(() => withTenant("bad", () => {}), ValidationError);
      assert.equal(requireTenant(), TENANT);
    });
  });
  await t.step("independent of the trace context", () => {
    const trace = newTraceContext();
    withTraceContext(trace, () => {
      withTenant(TENANT, () => {
        assert.equal(currentTraceContext(), trace);
        assert.equal(currentTenant(), TENANT);
      });
      assert.equal(currentTenant(), undefined);
    });
  });
  await t.step("1,000 interleaved concurrent runs see only their own tenant", async () => {
    const ids = Array.from({ length: 1000 }, () => crypto.randomUUID());
    const seen = await Promise.all(ids.map((id) =>
      withTenant(id, async () => {
        await delay(Math.floor(Math.random() * 4));
        const afterTimer = currentTenant();
        await Promise.resolve();
        await delay(Math.floor(Math.random() * 3));
        return afterTimer === id && requireTenant() === id;
      })
    ));
    assert.equal(seen.filter(Boolean).length, 1000);
    assert.equal(currentTenant(), undefined);
  });
});
