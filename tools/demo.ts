/**
 * `deno task demo`: the package's main job, end to end, with nothing installed. On an embedded
 * PostgreSQL (PGlite) unless PG_DSN names a server (then in a throwaway database there, dropped
 * at the end): migrations, a tenant and a run, one event of each kind inside the run's trace,
 * a replay, a conflict caught, and the run's `mcrc_v1_view` row.
 *
 * @module
 */
import { connect, startEmbeddedPostgres } from "../src/db.ts";
import { IdempotencyConflict } from "../src/errors.ts";
import type { IdempotencyKey } from "../src/idempotency.ts";
import { migrate } from "../src/migrate.ts";
import { PostgresKernelEmitter } from "../src/postgres_kernel_emitter.ts";
import { computeCost, priceTableFromOverrides } from "../src/pricing.ts";
import { requireTenant, withTenant } from "../src/tenant_context.ts";
import {
  childSpan,
  newTraceContext,
  requireTraceContext,
  withTraceContext,
} from "../src/trace_context.ts";
import { idempotencyKey } from "../tests/_helpers.ts";

const db = await openDatabase();
try {
  console.log(`Database: ${db.where}`);
  const steps = await migrate(db.sql);
  console.log(`Migrations: ${steps.length} applied\n`);

  const tenantId = crypto.randomUUID();
  const trace = newTraceContext();
  await db.sql`insert into tenants (id, name) values (${tenantId}, 'Acme Engineering')`;
  await db.sql`
    insert into runs (tenant_id, trace_id, product_line, actor_kind, actor_id)
    values (${tenantId}, ${trace.traceId}, 'workbench', 'human', 'u-42')`;

  // A login that bypasses row-level security (any PGlite login, a superuser) switches to the
  // writer role for each statement; a login in plm_kernel_writer needs no option.
  const [{ bypass }] = await db.sql`
    select rolsuper or rolbypassrls as bypass from pg_roles where rolname = current_user`;
  const emitter = new PostgresKernelEmitter(db.sql, {
    tenantId,
    ...(bypass ? { role: "plm_kernel_writer" } : {}),
  });
  const prices = priceTableFromOverrides({
    "acme-llm": { input_eur_per_token: "0.000002", output_eur_per_token: "0.000006" },
  });

  await withTenant(tenantId, () =>
    withTraceContext(trace, async () => {
      const step = (payload: Record<string, unknown>) => ({
        event_type: "skill.bom_diff.step",
        span_id: trace.spanId,
        capability: "read.bom",
        payload,
        idempotency_key: key(trace.spanId, "skill.bom_diff.step", payload),
      });
      await emitter.emitTelemetry(step({ parts_compared: 412 }));
      console.log("emitTelemetry       skill.bom_diff.step    stored");

      const llmSpan = childSpan();
      const usage = { model: "acme-llm", prompt_tokens: 1800, completion_tokens: 350 };
      await emitter.recordLlmCall({
        span_id: llmSpan.spanId,
        ...usage,
        ...computeCost(usage, prices),
        idempotency_key: key(llmSpan.spanId, "llm.call", usage),
      });
      console.log("recordLlmCall       acme-llm               stored");

      const connectorSpan = childSpan();
      const envelope = { part: "P-100-200", revision: "B" };
      await emitter.recordConnectorCall({
        span_id: connectorSpan.spanId,
        connector_id: "3dx-rest",
        capability: "read.parts",
        envelope,
        pricing_version: "unavailable",
        cost_status: "unavailable",
        idempotency_key: key(connectorSpan.spanId, "connector.call", envelope),
      });
      console.log("recordConnectorCall 3dx-rest read.parts    stored");

      const approvalSpan = childSpan();
      const decision = { approver: "u-42", comment: "BOM diff checked" };
      await emitter.emitGovernance({
        governance_event_type: "hitl.approved",
        span_id: approvalSpan.spanId,
        payload: decision,
        idempotency_key: key(approvalSpan.spanId, "hitl.approved", decision),
      });
      console.log("emitGovernance      hitl.approved          stored");

      await emitter.emitTelemetry(step({ parts_compared: 412 }));
      console.log("emitTelemetry       same key again         replayed (returned normally)");
      try {
        await emitter.emitTelemetry(step({ parts_compared: 999 }));
      } catch (error) {
        if (!(error instanceof IdempotencyConflict)) throw error;
        console.log(`emitTelemetry       other content          ${error.code} in ${error.table}`);
      }
    }));

  const [row] = await db.sql`
    select * from mcrc_v1_view where tenant_id = ${tenantId} and trace_id = ${trace.traceId}`;
  const comments = await db.sql`
    select a.attname as name, col_description(a.attrelid, a.attnum) as comment
    from pg_attribute a where a.attrelid = 'mcrc_v1_view'::regclass and a.attnum > 0
    order by a.attnum`;
  console.log(`\nmcrc_v1_view, the run's row:`);
  let section = "";
  for (const { name, comment } of comments) {
    const [heading, label] = String(comment).split(": ");
    if (heading !== section) console.log(`  ${section = heading}`);
    console.log(`    ${label.padEnd(44)} ${show(row[name])}`);
  }
} finally {
  await db.close();
}

/** The idempotency key of an event in the current tenant and trace. */
function key(spanId: string, eventType: string, content: unknown): IdempotencyKey {
  const traceId = requireTraceContext().traceId;
  return idempotencyKey(requireTenant(), { traceId, spanId, eventType, content });
}

function show(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.length ? value.join(", ") : "-";
  return value === null ? "-" : String(value);
}

/** PGlite, or a throwaway database on the PG_DSN server. */
async function openDatabase() {
  const serverDsn = Deno.env.get("PG_DSN");
  if (!serverDsn) {
    const pg = await startEmbeddedPostgres();
    return { sql: pg.sql, where: "PGlite (embedded, in memory)", close: () => pg.close() };
  }
  const name = `plm_demo_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const admin = connect(serverDsn, { max: 1 });
  await admin`create database ${admin(name)}`;
  const url = new URL(serverDsn);
  url.pathname = `/${name}`;
  const sql = connect(url.href, { max: 2 });
  return {
    sql,
    where: `database "${name}" on ${url.host} (dropped at the end)`,
    async close() {
      await sql.end();
      await admin`drop database ${admin(name)} with (force)`;
      await admin.end();
    },
  };
}
