import assert from "node:assert/strict";
import { tenantScoped } from "../../src/db.ts";
import { openTestDatabase } from "../_pg.ts";
import { seedTenant } from "./_seed.ts";

const T0 = Date.parse("2025-03-01T10:00:00Z");
const at = (seconds: number) => new Date(T0 + seconds * 1000);

const TELEMETRY = [
  { capability: "knowledge.search" },
  { capability: "read.parts" },
  { capability: "knowledge.search" },
];
// The server stamps created_at (0013): each insert commits on its own, so the last is the latest.
const GOVERNANCE = [{ type: "hitl_requested" }, { type: "hitl_resolved" }];
const LLM = [
  { model: "gpt-4o", prompt: 100, completion: 50, status: "calculated", cost: "0.0012345678" },
  { model: "gpt-4o", prompt: 200, completion: 80, status: "calculated", cost: "0.0100000001" },
  { model: "claude-3", prompt: 30, completion: 10, status: "pending", cost: null },
  { model: "mistral", prompt: 5, completion: 5, status: "unavailable", cost: null },
];
const CONNECTOR = [
  { connector: "3dx-rest", status: "calculated", cost: "0.5" },
  { connector: "sap-odata", status: "pending", cost: null },
  { connector: "3dx-rest", status: "unavailable", cost: null },
  { connector: "3dx-rest", status: "calculated", cost: "1.25" },
];
const ARTIFACT_SIZES = [1024, 3_000_000_000];

/** Sum decimal strings exactly, as numeric(20, 10) prints it. */
function sumEur(values: (string | null)[]): string {
  const scaled = values.filter((v) => v !== null).map((v) => {
    const [whole, fraction = ""] = v!.split(".");
    return BigInt(whole + fraction.padEnd(10, "0"));
  }).reduce((a, b) => a + b, 0n);
  const digits = scaled.toString().padStart(11, "0");
  return `${digits.slice(0, -10)}.${digits.slice(-10)}`;
}

Deno.test("mcrc_v1_view returns the §1-§8 figures of a seeded run", async (t) => {
  await using db = await openTestDatabase();
  const { sql } = db;
  const [tenant, other] = [crypto.randomUUID(), crypto.randomUUID()];
  const trace = "trace-view";
  // Noise that must not be counted: another tenant on the same trace id, another run of ours.
  await seedTenant(sql, other, { traceId: trace, calls: 3 });
  await seedTenant(sql, tenant, { traceId: "trace-other", calls: 2 });
  const [run] = await sql`
    insert into runs (tenant_id, trace_id, product_line, actor_kind, actor_id, quality_level,
      started_at, ended_at)
    values (${tenant}, ${trace}, 'workbench', 'human', 'u-42', 'validated', ${at(0)}, ${at(10)})
    returning id`;
  await sql`insert into runs (tenant_id, trace_id, actor_kind, actor_id)
            values (${tenant}, 'trace-empty', 'system', 'cron')`;
  let span = 0;
  const event = () => ({ tenant_id: tenant, trace_id: trace, span_id: `s-${++span}` });
  const key = () => ({ idempotency_key: `k-${span}`, content_hash: "h" });
  for (const e of TELEMETRY) {
    await sql`insert into telemetry_events ${
      sql({
        ...event(),
        event_kind: "telemetry",
        event_type: "knowledge_call",
        capability: e.capability,
        ...key(),
      })
    }`;
  }
  for (const g of GOVERNANCE) {
    await sql`insert into telemetry_events ${
      sql({
        ...event(),
        event_kind: "governance",
        event_type: g.type,
        ...key(),
      })
    }`;
  }
  for (const c of LLM) {
    await sql`insert into llm_calls ${
      sql({
        ...event(),
        event_type: "llm_call",
        model: c.model,
        prompt_tokens: c.prompt,
        completion_tokens: c.completion,
        pricing_version: c.status === "unavailable" ? "unavailable" : "litellm-live",
        cost_status: c.status,
        cost_eur: c.cost,
        ...key(),
      })
    }`;
  }
  for (const c of CONNECTOR) {
    await sql`insert into connector_calls ${
      sql({
        ...event(),
        event_type: "connector_call",
        connector_id: c.connector,
        capability: "read.parts",
        pricing_version: c.status === "unavailable" ? "unavailable" : "overrides-static",
        cost_status: c.status,
        cost_eur: c.cost,
        ...key(),
      })
    }`;
  }
  for (const size of ARTIFACT_SIZES) {
    await sql`insert into artifacts ${
      sql({
        tenant_id: tenant,
        trace_id: trace,
        storage_uri: `s3://bucket/${size}`,
        sha256: "c".repeat(64),
        size_bytes: size,
        content_type: "application/pdf",
      })
    }`;
  }

  const [times] = await sql`
    select min(created_at) filter (where event_kind = 'telemetry') as first_telemetry,
      max(created_at) filter (where event_kind = 'telemetry') as last_telemetry,
      max(created_at) filter (where event_kind = 'governance') as last_governance
    from telemetry_events where tenant_id = ${tenant} and trace_id = ${trace}`;
  const expected = {
    tenant_id: tenant,
    run_id: run.id,
    trace_id: trace,
    product_line: "workbench",
    started_at: at(0),
    ended_at: at(10),
    actor_kind: "human",
    actor_id: "u-42",
    quality_level: "validated",
    telemetry_event_count: String(TELEMETRY.length),
    telemetry_capabilities: [...new Set(TELEMETRY.map((e) => e.capability))].sort(),
    first_telemetry_at: times.first_telemetry,
    last_telemetry_at: times.last_telemetry,
    llm_call_count: String(LLM.length),
    llm_models: [...new Set(LLM.map((c) => c.model))].sort(),
    llm_prompt_tokens: String(LLM.reduce((s, c) => s + c.prompt, 0)),
    llm_completion_tokens: String(LLM.reduce((s, c) => s + c.completion, 0)),
    llm_cost_eur: sumEur(LLM.filter((c) => c.status === "calculated").map((c) => c.cost)),
    llm_cost_pending_count: String(LLM.filter((c) => c.status === "pending").length),
    llm_cost_unavailable_count: String(LLM.filter((c) => c.status === "unavailable").length),
    connector_call_count: String(CONNECTOR.length),
    connector_ids: [...new Set(CONNECTOR.map((c) => c.connector))].sort(),
    connector_cost_eur: sumEur(
      CONNECTOR.filter((c) => c.status === "calculated").map((c) => c.cost),
    ),
    connector_cost_pending_count: String(CONNECTOR.filter((c) => c.status === "pending").length),
    connector_cost_unavailable_count: String(
      CONNECTOR.filter((c) => c.status === "unavailable").length,
    ),
    artifact_count: String(ARTIFACT_SIZES.length),
    artifact_bytes: String(ARTIFACT_SIZES.reduce((s, n) => s + n, 0)),
    governance_event_count: String(GOVERNANCE.length),
    last_governance_event_type: "hitl_resolved",
    last_governance_event_at: times.last_governance,
  };

  await t.step("one row per run with the figures computed from the inserts", async () => {
    const rows = await sql`
      select * from mcrc_v1_view where tenant_id = ${tenant} and trace_id = ${trace}`;
    assert.equal(rows.length, 1);
    assert.deepEqual({ ...rows[0] }, expected);
  });

  await t.step("a run without events shows zeros, empty lists and no times", async () => {
    const [row] = await sql`
      select * from mcrc_v1_view where tenant_id = ${tenant} and trace_id = 'trace-empty'`;
    assert.deepEqual(
      [row.telemetry_event_count, row.llm_call_count, row.llm_cost_eur, row.artifact_bytes],
      ["0", "0", "0", "0"],
    );
    assert.deepEqual([row.telemetry_capabilities, row.llm_models, row.connector_ids], [[], [], []]);
    assert.equal(row.last_governance_event_type, null);
    assert.equal(row.first_telemetry_at, null);
  });

  await t.step(
    "the writer sees the same row through row level security, and only its runs",
    async () => {
      const rows = await tenantScoped(
        db.writer,
        tenant,
        (tx) => tx`select * from mcrc_v1_view order by run_id`,
      );
      assert.deepEqual(
        rows.map((r) => r.tenant_id),
        [tenant, tenant, tenant],
      );
      assert.deepEqual({ ...rows.find((r) => r.trace_id === trace) }, expected);
    },
  );

  await t.step("columns are grouped §1 to §8, in order", async () => {
    const columns = await sql`
      select a.attname as name, col_description(a.attrelid, a.attnum) as comment
      from pg_attribute a
      where a.attrelid = 'mcrc_v1_view'::regclass and a.attnum > 0 order by a.attnum`;
    assert.deepEqual(columns.map((c) => c.name), Object.keys(expected));
    const sections = columns.map((c) => Number(/^§(\d) /.exec(c.comment ?? "")?.[1]));
    assert.deepEqual([...new Set(sections)], [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(sections, [...sections].sort());
  });
});
