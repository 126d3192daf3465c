/**
 * `deno task bench`: the emitter's write paths side by side in one run, each against a
 * baseline, as the median of interleaved rounds (every path once per round, in turn), each path
 * on its own connection. A benchmark, never pass/fail: compare ratios taken in one run only.
 *
 * On the server named by PG_DSN (required; a fresh database per run, dropped at the end):
 * - bare INSERT: a static prepared `insert into public.telemetry_events (...) values (...)` of
 *   the same row, as the superuser (no row-level security), on its own connection. It fires
 *   whatever triggers the schema has, like the emitter's insert.
 * - emit (new event), replay (same key), conflict (same identity, other content), a new
 *   emitter's first LLM call (the pool already knows the day's pricing snapshot).
 * - emitMany of 1,000 vs a multi-row INSERT of 1,000 (`unnest`) and COPY of 1,000 (into a copy of
 *   the table without row-level security: COPY is refused under RLS).
 * - 64 callers at once on a pool of 4 and of 10: the default emitter (group commit) vs 64 bare
 *   INSERTs on a pool of the same size.
 * - bytes per LLM-call row (heap, TOAST and indexes) at 200,000 rows, at revision 0015 and 0016.
 * - emit and random replay at 1,000,000 rows (`BENCH_BIG_ROWS` to change).
 * - peak RSS of 100,000 conflicts vs 100,000 emits (each in its own process).
 * On an embedded PGlite in the same run: emit (with and without the role switch) vs a bare INSERT.
 *
 * @module
 */
import type postgres from "postgres";
import { connect, type Sql, startEmbeddedPostgres } from "../src/db.ts";
import { IdempotencyConflict } from "../src/errors.ts";
import { idempotencyKeyToString } from "../src/idempotency.ts";
import type { EmitTelemetryArgs } from "../src/kernel_api.ts";
import { migrate } from "../src/migrate.ts";
import type { KernelEvent } from "../src/kernel_api.ts";
import { PostgresKernelEmitter } from "../src/postgres_kernel_emitter.ts";
import { llmCall, newTraceId, telemetry } from "../tests/_helpers.ts";
import { openTestDatabase, type TestDatabase } from "../tests/_pg.ts";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

const ROUNDS = 9;
const WINDOW_MS = 700;
const BATCH = 1000;
const BIG_ROWS = Number(Deno.env.get("BENCH_BIG_ROWS") ?? 1_000_000);
const PAYLOAD = { skill: "bom-diff", part: "P-100-200", step: 3, note: "x".repeat(200) };
const BARE = `insert into public.telemetry_events (tenant_id, trace_id, span_id, event_kind,
  event_type, capability, payload, idempotency_key, content_hash)
  values ($1::uuid, $2::text, $3::text, 'telemetry', $4::text, $5::text, $6::text::jsonb,
    $7::text, $8::text)`;

type Path = [name: string, run: () => Promise<number>, baseline?: string];

if (Deno.args[0] === "rss") await rssChild(Deno.args[1], Deno.args[2], Deno.args[3]);
else await main();

async function main(): Promise<void> {
  if (!Deno.env.get("PG_DSN")) throw new Error("Set PG_DSN to a superuser DSN");
  const startedAt = performance.now();
  const lines: string[] = [];
  const db = await openTestDatabase();
  const clients: Sql[] = [];
  const client = (dsn: string, max = 1) => {
    const sql = connect(dsn, { max });
    clients.push(sql);
    return sql;
  };
  try {
    const tenantId = crypto.randomUUID();
    await db.sql`insert into tenants (id, name) values (${tenantId}, 'bench')`;
    await db.sql`create table bench_copy (like telemetry_events including all)`;
    const traceId = newTraceId();
    let serial = 0;
    const event = (payload: Record<string, unknown> = PAYLOAD, spanId = `s${serial++}`) =>
      telemetry(tenantId, { traceId, spanId, payload });
    const bareSql = client(db.dsn);
    const bare = (sql: Sql, args: EmitTelemetryArgs) =>
      sql.unsafe(BARE, bareParams(tenantId, args), { prepare: true });
    const emitter = new PostgresKernelEmitter(client(db.writerDsn), { tenantId });
    const replayer = new PostgresKernelEmitter(client(db.writerDsn), { tenantId });
    const conflicter = new PostgresKernelEmitter(client(db.writerDsn), { tenantId });
    const batcher = new PostgresKernelEmitter(client(db.writerDsn), { tenantId });
    const firstSql = client(db.writerDsn);
    const stored = event();
    await emitter.emitTelemetry(stored);
    await new PostgresKernelEmitter(firstSql, { tenantId }).recordLlmCall(
      llmCall(tenantId, { traceId, spanId: `s${serial++}` }),
    );
    const multiSql = client(db.dsn);
    const copySql = client(db.dsn);
    const pools = [4, 10].map((max) => ({
      max,
      emitter: new PostgresKernelEmitter(client(db.writerDsn, max), { tenantId }),
      bare: client(db.dsn, max),
    }));
    const sequential: Path[] = [
      ["bare INSERT (static, prepared)", async () => (await bare(bareSql, event()), 1)],
      ["emit (new event)", async () => (await emitter.emitTelemetry(event()), 1), "bare"],
      ["replay (same key)", async () => (await replayer.emitTelemetry(stored), 1), "bare"],
      ["conflict (same identity)", async () => {
        try {
          await conflicter.emitTelemetry(event({ ...PAYLOAD, step: serial }, stored.span_id));
        } catch (error) {
          if (!(error instanceof IdempotencyConflict)) throw error;
        }
        return 1;
      }, "bare"],
      ["a new emitter's first LLM call", async () => {
        const fresh = new PostgresKernelEmitter(firstSql, { tenantId });
        await fresh.recordLlmCall(llmCall(tenantId, { traceId, spanId: `s${serial++}` }));
        return 1;
      }, "bare"],
      [`multi-row INSERT (${BATCH}/statement)`, async () => {
        const rows = Array.from({ length: BATCH }, () => bareParams(tenantId, event()));
        const column = (i: number) => rows.map((row) => row[i]);
        await multiSql`
          insert into public.telemetry_events (tenant_id, trace_id, span_id, event_kind,
            event_type, capability, payload, idempotency_key, content_hash)
          select ${tenantId}::uuid, ${traceId}, s, 'telemetry', e, c, p::jsonb, k, h
          from unnest(${column(2)}::text[], ${column(3)}::text[], ${column(4)}::text[],
            ${column(5)}::text[], ${column(6)}::text[], ${
          column(7)
        }::text[]) as r(s, e, c, p, k, h)`;
        return BATCH;
      }],
      [`emitMany (${BATCH}/call)`, async () => {
        const events = Array.from({ length: BATCH }, () => ({
          kind: "telemetry" as const,
          args: event(),
        }));
        await batcher.emitMany(events);
        return BATCH;
      }, `multi-row INSERT (${BATCH}/statement)`],
      [`COPY (${BATCH}/call, no RLS)`, async () => {
        const text = Array.from({ length: BATCH }, () => bareParams(tenantId, event()))
          .map((row) => [...row.slice(0, 3), "telemetry", ...row.slice(3)].join("\t"))
          .join("\n");
        const copy = await copySql`
          copy bench_copy (tenant_id, trace_id, span_id, event_kind, event_type, capability,
            payload, idempotency_key, content_hash) from stdin`.writable();
        await pipeline(Readable.from([text + "\n"]), copy);
        return BATCH;
      }, `multi-row INSERT (${BATCH}/statement)`],
    ];
    for (const pool of pools) {
      const bareName = `64 bare INSERTs at once, pool of ${pool.max}`;
      sequential.push([bareName, async () => {
        await Promise.all(Array.from({ length: 64 }, () => bare(pool.bare, event())));
        return 64;
      }]);
      sequential.push([`64 emits at once, pool of ${pool.max} (group commit)`, async () => {
        await Promise.all(Array.from({ length: 64 }, () => pool.emitter.emitTelemetry(event())));
        return 64;
      }, bareName]);
    }
    lines.push(...table(await rounds(sequential), "bare INSERT (static, prepared)"));

    lines.push("", ...(await pgliteRatios()));
    lines.push("", ...(await bytesPerRow(db)));
    lines.push("", ...(await bigTable(db, BIG_ROWS)));
    lines.push("", ...(await peakRss(db)));
    const server = (await db.sql`select version()`)[0].version.split(" on ")[0];
    console.log(`Target: ${server}; Deno ${Deno.version.deno}, postgres.js 3.4`);
    console.log(`Median of ${ROUNDS} interleaved rounds of ${WINDOW_MS} ms per path.\n`);
    console.log(lines.join("\n"));
    console.log(`\nTotal time: ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
  } finally {
    await Promise.all(clients.map((sql) => sql.end({ timeout: 1 })));
    await db.close();
  }
}

/** The bare INSERT's parameters for a telemetry event. */
function bareParams(tenantId: string, args: EmitTelemetryArgs): string[] {
  return [
    tenantId,
    args.idempotency_key.trace_id,
    args.span_id,
    args.event_type,
    args.capability,
    JSON.stringify(args.payload),
    idempotencyKeyToString(args.idempotency_key),
    args.idempotency_key.content_hash,
  ];
}

/** Median events per second of each path over interleaved rounds. */
async function rounds(paths: Path[]): Promise<Map<string, [number, string | undefined]>> {
  const rates = new Map(paths.map(([name]) => [name, [] as number[]]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of paths) rates.get(name)!.push(await measure(run));
  }
  return new Map(paths.map(([name, , baseline]) => [name, [median(rates.get(name)!), baseline]]));
}

function table(rates: Map<string, [number, string | undefined]>, bare: string): string[] {
  const lines = ["| path | events/s | vs baseline |", "| ---- | -------: | ----------: |"];
  for (const [name, [rate, baseline]] of rates) {
    const base = rates.get(baseline === "bare" ? bare : baseline ?? name)![0];
    const ratio = baseline === undefined ? "baseline" : `${(rate / base).toFixed(2)}×`;
    lines.push(`| ${name} | ${Math.round(rate).toLocaleString("en")} | ${ratio} |`);
  }
  return lines;
}

function median(values: number[]): number {
  return values.toSorted((a, b) => a - b)[values.length >> 1];
}

/** Events per second of `run` (which returns how many events it handled) over one window. */
async function measure(run: () => Promise<number>): Promise<number> {
  let events = 0;
  const start = performance.now();
  while (performance.now() - start < WINDOW_MS) events += await run();
  return events / ((performance.now() - start) / 1000);
}

/**
 * PGlite (embedded, one connection): emit (role switch, one round trip) vs a bare INSERT, and the
 * same emit without the role switch, which shows what the switch costs there.
 */
async function pgliteRatios(): Promise<string[]> {
  await using pg = await startEmbeddedPostgres();
  await migrate(pg.sql);
  const tenantId = crypto.randomUUID();
  await pg.sql`insert into tenants (id, name) values (${tenantId}, 'bench')`;
  const emitter = new PostgresKernelEmitter(pg.sql, { tenantId, role: "plm_kernel_writer" });
  const superuser = new PostgresKernelEmitter(pg.sql, { tenantId });
  const traceId = newTraceId();
  let serial = 0;
  const event = () => telemetry(tenantId, { traceId, spanId: `p${serial++}`, payload: PAYLOAD });
  const rates = await rounds([
    ["PGlite bare INSERT", async () => {
      await pg.sql.unsafe(BARE, bareParams(tenantId, event()), { prepare: true });
      return 1;
    }],
    ["PGlite emit (role path)", async () => (await emitter.emitTelemetry(event()), 1), "bare"],
    ["PGlite emit as the superuser (no role switch: RLS bypassed)", async () => {
      await superuser.emitTelemetry(event());
      return 1;
    }, "bare"],
  ]);
  return table(rates, "PGlite bare INSERT");
}

/** Bytes per LLM-call row, all-in, at 200,000 rows, before 0016 and at the latest. */
async function bytesPerRow(db: TestDatabase): Promise<string[]> {
  const lines = ["| bytes per llm_calls row at 200,000 rows | heap+TOAST | indexes | total |"];
  lines.push("| ---- | ---: | ---: | ---: |");
  const server = new URL(db.dsn);
  // `to` counts revisions: the ones before 0016.
  const before = [...Deno.readDirSync(new URL("../migrations/", import.meta.url))]
    .filter((entry) => entry.name < "0016").length;
  for (const [label, to] of [["before 0016", before], ["latest revision", undefined]] as const) {
    const name = `plm_bench_${crypto.randomUUID().replaceAll("-", "")}`;
    await db.sql.unsafe(`create database ${name}`);
    server.pathname = `/${name}`;
    const sql = connect(server.href, { max: 1 });
    try {
      await migrate(sql, { to });
      const tenantId = crypto.randomUUID();
      await sql`insert into tenants (id, name) values (${tenantId}, 'bench')`;
      // As the superuser without RLS, the emitter still writes the same rows.
      await sql`select set_config('app.tenant_id', ${tenantId}, false)`;
      const emitter = new PostgresKernelEmitter(sql, { tenantId });
      const traceId = newTraceId();
      await fill(emitter, 200_000, (spanId) => ({
        kind: "llm_call",
        args: llmCall(tenantId, { traceId, spanId }),
      }));
      await sql`vacuum analyze llm_calls`;
      const [size] = await sql`
        select pg_table_size('llm_calls')::float8 / 200000 as heap,
          pg_indexes_size('llm_calls')::float8 / 200000 as idx,
          pg_total_relation_size('llm_calls')::float8 / 200000 as total`;
      lines.push(
        `| ${label} | ${size.heap.toFixed(0)} | ${size.idx.toFixed(0)} | ${
          size.total.toFixed(0)
        } |`,
      );
    } finally {
      await sql.end({ timeout: 1 });
      await db.sql.unsafe(`drop database ${name} with (force)`);
    }
  }
  return lines;
}

/** Insert `count` events through `emitMany`, 1,000 at a time, 4 batches in flight. */
async function fill(
  emitter: PostgresKernelEmitter,
  count: number,
  make: (spanId: string) => KernelEvent,
): Promise<void> {
  const batches = Math.ceil(count / BATCH);
  let next = 0;
  const worker = async () => {
    for (let b = next++; b < batches; b = next++) {
      await emitter.emitMany(Array.from({ length: BATCH }, (_, i) => make(`b${b}-${i}`)));
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

/** Emit and random replay vs bare INSERT with `rows` LLM calls already in the table. */
async function bigTable(db: TestDatabase, rows: number): Promise<string[]> {
  const tenantId = crypto.randomUUID();
  await db.sql`insert into tenants (id, name) values (${tenantId}, 'big')`;
  const loader = new PostgresKernelEmitter(db.writer, { tenantId });
  const traceId = newTraceId();
  const batches = Math.ceil(rows / BATCH);
  await fill(loader, rows, (spanId) => ({
    kind: "telemetry",
    args: telemetry(tenantId, { traceId, spanId, payload: PAYLOAD }),
  }));
  await db.sql`vacuum analyze telemetry_events`;
  const emitSql = connect(db.writerDsn, { max: 1 });
  const replaySql = connect(db.writerDsn, { max: 1 });
  const emitter = new PostgresKernelEmitter(emitSql, { tenantId });
  const replayer = new PostgresKernelEmitter(replaySql, { tenantId });
  const bareSql = connect(db.dsn, { max: 1 });
  let serial = 0;
  const fresh = () => telemetry(tenantId, { traceId, spanId: `n${serial++}`, payload: PAYLOAD });
  const random = () => {
    const b = Math.floor(Math.random() * batches);
    const i = Math.floor(Math.random() * BATCH);
    return telemetry(tenantId, { traceId, spanId: `b${b}-${i}`, payload: PAYLOAD });
  };
  try {
    const rates = await rounds([
      [`bare INSERT at ${rows.toLocaleString("en")} rows`, async () => {
        await bareSql.unsafe(BARE, bareParams(tenantId, fresh()), { prepare: true });
        return 1;
      }],
      ["emit (new event)", async () => (await emitter.emitTelemetry(fresh()), 1), "bare"],
      ["random replay", async () => (await replayer.emitTelemetry(random()), 1), "bare"],
    ]);
    return table(rates, `bare INSERT at ${rows.toLocaleString("en")} rows`);
  } finally {
    await Promise.all([bareSql, emitSql, replaySql].map((sql) => sql.end({ timeout: 1 })));
  }
}

/** Peak RSS of 100,000 conflicts vs 100,000 emits, each in a fresh process, both at once. */
async function peakRss(db: TestDatabase): Promise<string[]> {
  const lines = ["| 100,000 calls, one process each | peak RSS (MB) |", "| ---- | ---: |"];
  const peaks = await Promise.all(["emit", "conflict"].map(async (mode) => {
    const tenantId = crypto.randomUUID();
    await db.sql`insert into tenants (id, name) values (${tenantId}, 'rss')`;
    const { stdout } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", import.meta.filename!, "rss", mode, db.writerDsn, tenantId],
      stderr: "inherit",
    }).output();
    return [mode, Number(new TextDecoder().decode(stdout).trim())] as const;
  }));
  for (const [mode, peak] of peaks) lines.push(`| ${mode} | ${(peak / 2 ** 20).toFixed(0)} |`);
  return lines;
}

async function rssChild(mode: string, dsn: string, tenantId: string): Promise<void> {
  const sql: postgres.Sql = connect(dsn, { max: 1 });
  const emitter = new PostgresKernelEmitter(sql, { tenantId });
  const traceId = newTraceId();
  await emitter.emitTelemetry(telemetry(tenantId, { traceId, spanId: "c", payload: PAYLOAD }));
  let peak = 0;
  for (let i = 0; i < 100_000; i++) {
    if (mode === "emit") {
      await emitter.emitTelemetry(
        telemetry(tenantId, { traceId, spanId: `e${i}`, payload: PAYLOAD }),
      );
    } else {
      const payload = { ...PAYLOAD, step: i };
      await emitter.emitTelemetry(telemetry(tenantId, { traceId, spanId: "c", payload }))
        .catch((error) => {
          if (!(error instanceof IdempotencyConflict)) throw error;
        });
    }
    if (i % 1000 === 0) peak = Math.max(peak, Deno.memoryUsage().rss);
  }
  console.log(Math.max(peak, Deno.memoryUsage().rss));
  await sql.end({ timeout: 1 });
}
