import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { computeContentHash } from "../../src/idempotency.ts";
import type { PriceTable } from "../../src/price_table.ts";
import { computeCost, parseLiteLlmPriceMap, pricingProvenance } from "../../src/pricing.ts";
import { openTestDatabase } from "../_pg.ts";
import { connectorCall, newTraceId } from "../_helpers.ts";
import { addTenant, emitterFor } from "./_emitter_db.ts";

const MAP = JSON.parse(
  await readFile(new URL("../fixtures/litellm_real_prices.json", import.meta.url), "utf8"),
);

/** `recordLlmCall` arguments whose cost comes from `table`. */
function pricedCall(tenantId: string, traceId: string, spanId: string, table: PriceTable) {
  const usage = {
    model: "claude-sonnet-4-20250514",
    prompt_tokens: 200_001,
    cache_read_input_tokens: 150_000,
    completion_tokens: 4000,
    reasoning_tokens: 1000,
  };
  const { model, prompt_tokens, completion_tokens } = usage;
  const call = { model, prompt_tokens, completion_tokens, ...computeCost(usage, table) };
  return {
    span_id: spanId,
    ...call,
    idempotency_key: {
      tenant_id: tenantId,
      trace_id: traceId,
      span_id: spanId,
      event_type: "llm.call",
      content_hash: computeContentHash(call),
    },
  };
}

Deno.test("a new price table is a new snapshot; earlier rows keep their cost and snapshot", async () => {
  await using db = await openTestDatabase();
  const tenantId = await addTenant(db);
  const traceId = newTraceId();
  const march = parseLiteLlmPriceMap(MAP, {
    usdToEur: 0.9234,
    takenAt: new Date("2025-03-01T06:00:00Z"),
    source: "litellm@march",
  });
  const raised = structuredClone(MAP);
  raised["claude-sonnet-4-20250514"].input_cost_per_token_above_200k_tokens = 7e-6;
  const april = parseLiteLlmPriceMap(raised, {
    usdToEur: 0.9,
    takenAt: new Date("2025-04-01T06:00:00Z"),
    source: "litellm@april",
  });
  const history = async () =>
    await db.sql`
      select c.span_id, c.cost_eur::text as cost_eur, c.pricing_snapshot_id::text as snapshot,
             s.price_table_digest as digest, s.source, s.taken_at, s.fx_usd_eur::text as fx,
             s.pricing_version
      from llm_calls c join pricing_snapshots s
        on s.tenant_id = c.tenant_id and s.id = c.pricing_snapshot_id
      where c.tenant_id = ${tenantId} order by c.id`;

  const first = emitterFor(db, tenantId, db.writer, { priceTable: march });
  await first.recordLlmCall(pricedCall(tenantId, traceId, "m1", march));
  await first.recordLlmCall(pricedCall(tenantId, traceId, "m2", march));
  await first.recordConnectorCall(connectorCall(tenantId, { traceId, spanId: "c1" }));
  const before = await history();
  assert.equal(before.length, 2);
  assert.equal(before[0].snapshot, before[1].snapshot, "one snapshot per table, model and day");
  assert.deepEqual({ ...before[0], span_id: undefined, snapshot: undefined }, {
    span_id: undefined,
    snapshot: undefined,
    // As C2 of tests/fixtures/litellm_real_prices.md, without cache writes:
    // (50,001 × 6e-6 + 150,000 × 6e-7 + 3000 × 2.25e-5 + 1000 × 2.25e-5) × 0.9234
    cost_eur: "0.4432375404",
    digest: march.snapshot.digest,
    source: "litellm@march",
    taken_at: new Date("2025-03-01T06:00:00Z"),
    fx: "0.9234",
    pricing_version: "litellm-live",
  });

  // The map changes: a new table, and more calls the same day.
  const second = emitterFor(db, tenantId, db.writer, { priceTable: april });
  await second.recordLlmCall(pricedCall(tenantId, traceId, "a1", april));
  await second.emitMany([{ kind: "llm_call", args: pricedCall(tenantId, traceId, "a2", april) }]);
  // A replay of an earlier call through the new emitter changes nothing.
  await second.recordLlmCall(pricedCall(tenantId, traceId, "m1", march));

  const after = await history();
  assert.deepEqual(
    [...after.slice(0, 2)],
    [...before],
    "earlier rows and their snapshot are unchanged",
  );
  assert.equal(after.length, 4);
  assert.notEqual(after[2].snapshot, before[0].snapshot, "a new table is a new snapshot");
  assert.equal(after[2].snapshot, after[3].snapshot);
  assert.deepEqual([after[2].digest, after[2].source, after[2].fx], [
    april.snapshot.digest,
    "litellm@april",
    "0.9",
  ]);
  // (50,001 × 7e-6 + 150,000 × 6e-7 + 4000 × 2.25e-5) × 0.9 = 0.4770063
  assert.equal(after[2].cost_eur, "0.4770063000");

  // Every row traces to its table: the stored digest is the table's, recomputed from its prices.
  const digests = new Map([march, april].map((t) => [pricingProvenance(t).digest, t]));
  for (const row of after) assert.ok(digests.has(row.digest), row.span_id);

  // The connector call's snapshot carries no LLM price table.
  const [connector] = await db.sql`
    select s.price_table_digest, s.source, s.fx_usd_eur from connector_calls c
    join pricing_snapshots s on s.tenant_id = c.tenant_id and s.id = c.pricing_snapshot_id
    where c.tenant_id = ${tenantId}`;
  assert.deepEqual({ ...connector }, { price_table_digest: null, source: null, fx_usd_eur: null });

  // Snapshots stay immutable.
  await assert.rejects(
    db.sql`update pricing_snapshots set source = 'forged' where tenant_id = ${tenantId}`,
  );
});

Deno.test("migration 0015 keeps one snapshot per day without a table and reverts cleanly", async () => {
  await using db = await openTestDatabase();
  const tenantId = await addTenant(db);
  const insert = (digest: string | null) =>
    db.sql`insert into pricing_snapshots
             (tenant_id, model, snapshot_date, pricing_version, price_table_digest)
           values (${tenantId}, 'm', '2025-03-01', 'litellm-live', ${digest})`;
  await insert(null);
  await assert.rejects(insert(null), { code: "23505" }); // NULLS NOT DISTINCT
  await insert("a".repeat(64));
  await assert.rejects(insert("A".repeat(64)), { code: "23514" }); // lowercase hex only
  // Down refuses while two tables of one day would collapse into the old key ...
  await assert.rejects(db.migrate({ to: 12 }));
  await db.sql`delete from pricing_snapshots where price_table_digest is not null`;
  // ... and works otherwise, and up again.
  await db.migrate({ to: 12 });
  const columns = async () =>
    (await db.sql`select column_name from information_schema.columns
                  where table_name = 'pricing_snapshots' order by column_name`)
      .map((row) => row.column_name);
  assert.ok(!(await columns()).includes("price_table_digest"));
  await db.migrate();
  assert.ok((await columns()).includes("price_table_digest"));
});
