import assert from "node:assert/strict";
import { connect } from "../../src/db.ts";
import { IdempotencyConflict } from "../../src/errors.ts";
import { idempotencyKeyToString } from "../../src/idempotency.ts";
import { KernelSpanProcessor } from "../../src/otel_span_processor.ts";
import { withTenant } from "../../src/tenant_context.ts";
import { openTestDatabase } from "../_pg.ts";
import { CHAT_CALL, chatKey, chatSpan, tracing } from "../_otel.ts";
import { addTenant, countRows, emitterFor } from "./_emitter_db.ts";

Deno.test("KernelSpanProcessor on PostgreSQL", async (t) => {
  await using db = await openTestDatabase();
  const tenantA = await addTenant(db);
  const tenantB = await addTenant(db);
  const emitters = new Map([tenantA, tenantB].map((id) => [id, emitterFor(db, id)]));

  await t.step("a span ended and exported twice is one row", async () => {
    const tr = tracing((tenantId) => emitters.get(tenantId)!);
    const span = await withTenant(tenantA, () => chatSpan(tr));
    await tr.provider.forceFlush();
    assert.equal(await countRows(db, "llm_calls", tenantA), 1);

    tr.processor.onEnd(span);
    // Another process exporting the same span on its own connection: the tenant travels as an
    // attribute there.
    const other = db.embedded ? db.writer : connect(db.writerDsn, { max: 2 });
    const errors: Error[] = [];
    const second = new KernelSpanProcessor((id) => emitterFor(db, id, other), {
      onError: (error) => errors.push(error),
    });
    second.onEnd({
      spanContext: () => span.spanContext(),
      attributes: { ...span.attributes, "plm.tenant_id": tenantA },
    });
    await Promise.all([tr.processor.forceFlush(), second.shutdown()]);
    if (other !== db.writer) await other.end({ timeout: 5 });
    assert.deepEqual([...tr.errors, ...errors], []);

    const rows = await db.sql`
      select trace_id, span_id, event_type, model, prompt_tokens, completion_tokens,
             cost_eur::text as cost_eur, idempotency_key
      from llm_calls where tenant_id = ${tenantA}`;
    const { traceId, spanId } = span.spanContext();
    assert.equal(rows.length, 1);
    assert.deepEqual({ ...rows[0] }, {
      trace_id: traceId,
      span_id: spanId,
      event_type: "llm.call",
      model: "gpt-4o",
      prompt_tokens: 1200,
      completion_tokens: 300,
      cost_eur: "0.0041000000",
      idempotency_key: idempotencyKeyToString(chatKey(tenantA, span)),
    });
    assert.equal(await countRows(db, "llm_calls", tenantB), 0);
  });

  await t.step("the same span with other content is a conflict, the row stays", async () => {
    const tr = tracing((tenantId) => emitters.get(tenantId)!);
    const span = await withTenant(tenantB, () => chatSpan(tr));
    await tr.provider.forceFlush();
    const [before] = await db
      .sql`select idempotency_key from llm_calls where tenant_id = ${tenantB}`;
    tr.processor.onEnd({
      spanContext: () => span.spanContext(),
      attributes: { ...span.attributes, "gen_ai.usage.input_tokens": 9, "plm.tenant_id": tenantB },
    });
    await tr.provider.forceFlush();
    assert.equal(tr.errors.length, 1);
    assert.ok(tr.errors[0] instanceof IdempotencyConflict);
    const [after] = await db
      .sql`select idempotency_key from llm_calls where tenant_id = ${tenantB}`;
    assert.equal(after.idempotency_key, before.idempotency_key);
  });

  await t.step("concurrent spans of two tenants land in their own rows", async () => {
    const tr = tracing((tenantId) => emitters.get(tenantId)!);
    const before = {
      [tenantA]: await countRows(db, "llm_calls", tenantA),
      [tenantB]: await countRows(db, "llm_calls", tenantB),
    };
    const spans = await Promise.all(
      Array.from({ length: 12 }, (_, i) => {
        const tenantId = i % 2 === 0 ? tenantA : tenantB;
        return withTenant(tenantId, async () => {
          const span = await chatSpan(tr, { ...CHAT_CALL, completion_tokens: i });
          return { tenantId, span };
        });
      }),
    );
    await tr.provider.forceFlush();
    assert.deepEqual(tr.errors, []);
    for (const tenantId of [tenantA, tenantB]) {
      assert.equal(await countRows(db, "llm_calls", tenantId), before[tenantId] + 6);
      const stored = await db.sql`
        select idempotency_key from llm_calls where tenant_id = ${tenantId}`;
      const keys = new Set(stored.map((row) => row.idempotency_key));
      for (const { tenantId: owner, span } of spans) {
        const { traceId, spanId } = span.spanContext();
        const mine = [...keys].some((key) => key.includes(`:${traceId}:${spanId}:`));
        assert.equal(mine, owner === tenantId);
      }
    }
  });
});
