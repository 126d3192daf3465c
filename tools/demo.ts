/**
 * `deno task demo`: the whole run lifecycle through the package API, with nothing installed.
 * On an embedded PostgreSQL (PGlite) unless PG_DSN names a server (then in a throwaway database
 * there, dropped at the end). The only SQL here starts the database: migrations, tenant
 * registration, run, one event of each kind, a replay and a conflict, an artifact stored and
 * recorded, a pending cost settled, quality raised, the run ended, and its card printed.
 *
 * @module
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, startEmbeddedPostgres } from "../src/db.ts";
import { IdempotencyConflict } from "../src/errors.ts";
import {
  connectorCallEvent,
  governanceEvent,
  llmCallEvent,
  telemetryEvent,
} from "../src/event_builders.ts";
import { LocalFilesystemBackend } from "../src/local_filesystem_backend.ts";
import { migrate } from "../src/migrate.ts";
import { PostgresKernelEmitter } from "../src/postgres_kernel_emitter.ts";
import { computeCost, priceTableFromOverrides } from "../src/pricing.ts";
import { withTenant } from "../src/tenant_context.ts";
import { registerTenant } from "../src/tenants.ts";
import { childSpan, newTraceContext, withTraceContext } from "../src/trace_context.ts";

const db = await openDatabase();
const root = await mkdtemp(join(tmpdir(), "plm-demo-"));
try {
  console.log(`Database: ${db.where}`);
  const steps = await migrate(db.sql);
  console.log(`Migrations: ${steps.length} applied\n`);

  // PGlite's one login (like any superuser) switches to the package's roles per transaction;
  // production logins are members of plm_tenant_admin or plm_kernel_writer and need no option.
  const tenantId = crypto.randomUUID();
  const { created } = await registerTenant(db.sql, { id: tenantId, name: "Acme Engineering" }, {
    role: "plm_tenant_admin",
  });
  line("registerTenant", "Acme Engineering", created ? "registered" : "known");
  const emitter = new PostgresKernelEmitter(db.sql, { tenantId, role: "plm_kernel_writer" });
  const prices = priceTableFromOverrides({
    "acme-llm": { input_eur_per_token: "0.000002", output_eur_per_token: "0.000006" },
  });
  const store = new LocalFilesystemBackend({ root });

  const trace = newTraceContext();
  const card = await withTenant(tenantId, () =>
    withTraceContext(trace, async () => {
      const run = await emitter.startRun({
        product_line: "workbench",
        actor_kind: "human",
        actor_id: "u-42",
      });
      line("startRun", `run ${run.run_id}`, "opened");

      const step = (payload: Record<string, unknown>) =>
        telemetryEvent({ event_type: "skill.bom_diff.step", capability: "read.bom", payload });
      await emitter.emitTelemetry(step({ parts_compared: 412 }));
      line("emitTelemetry", "skill.bom_diff.step", "stored");
      await emitter.emitTelemetry(step({ parts_compared: 412 }));
      line("emitTelemetry", "same key again", "replayed (returned normally)");
      try {
        await emitter.emitTelemetry(step({ parts_compared: 999 }));
      } catch (error) {
        if (!(error instanceof IdempotencyConflict)) throw error;
        line("emitTelemetry", "other content", `${error.code}`);
      }

      const usage = { model: "acme-llm", prompt_tokens: 1800, completion_tokens: 350 };
      const call = withTraceContext(childSpan(), () =>
        llmCallEvent({ ...usage, pricing_version: "overrides-static", cost_status: "pending" }));
      await emitter.recordLlmCall(call);
      line("recordLlmCall", "acme-llm", "stored, cost pending");

      await withTraceContext(childSpan(), () =>
        emitter.recordConnectorCall(connectorCallEvent({
          connector_id: "3dx-rest",
          capability: "read.parts",
          envelope: { part: "P-100-200", revision: "B" },
          pricing_version: "unavailable",
          cost_status: "unavailable",
        })));
      line("recordConnectorCall", "3dx-rest read.parts", "stored");

      await withTraceContext(childSpan(), () =>
        emitter.emitGovernance(governanceEvent({
          governance_event_type: "hitl.approved",
          payload: { approver: "u-42", comment: "BOM diff checked" },
        })));
      line("emitGovernance", "hitl.approved", "stored");

      const bytes = new TextEncoder().encode("part,revision\nP-100-200,B\n");
      await store.put("bom-diff/report.csv", bytes, { contentType: "text/csv" });
      const artifact = await store.head("bom-diff/report.csv");
      await emitter.recordArtifact({ artifact });
      line("recordArtifact", "bom-diff/report.csv", `${artifact.size} bytes recorded`);

      const { cost_eur } = computeCost(usage, prices);
      await emitter.settleCost({
        table: "llm_calls",
        idempotency_key: call.idempotency_key,
        cost_status: "calculated",
        cost_eur,
      });
      line("settleCost", "acme-llm", `calculated, ${cost_eur} EUR`);

      await emitter.raiseQuality({ quality_level: "reviewed" });
      line("raiseQuality", "reviewed", "raised");
      const ended = await emitter.endRun({ quality_level: "validated" });
      line("endRun", "validated", `ended ${ended.ended_at}`);
      return await emitter.runCard();
    }));

  console.log(`\nrunCard() (RunCardV1, the run's mcrc_v1_view row):`);
  for (const [name, value] of Object.entries(card ?? {})) {
    console.log(`  ${name.padEnd(34)} ${show(value)}`);
  }
} finally {
  await rm(root, { recursive: true, force: true });
  await db.close();
}

function line(call: string, subject: string, outcome: string): void {
  console.log(`${call.padEnd(20)}${subject.padEnd(24)}${outcome}`);
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
