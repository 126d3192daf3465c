/**
 * `deno task bench`: the emitter's write paths side by side, in one process, against one
 * database (a fresh one on the server named by PG_DSN, or an embedded PGlite when it is unset),
 * one statement in flight at a time. Each path runs for a fixed time per round; the table shows
 * the median of 3 rounds in events per second and the ratio to a bare autocommit INSERT of the
 * same row. A benchmark, never pass/fail: compare ratios taken in one run only.
 *
 * - bare INSERT: `insert into telemetry_events (...) values (...)` as the superuser (no RLS).
 * - emit: `emitTelemetry` of a new event (one statement; on PGlite a pipelined transaction
 *   that switches to `plm_kernel_writer` first, because every PGlite login is the superuser).
 * - replay: `emitTelemetry` of an event already stored (nothing written).
 * - conflict: same identity, other content (`IdempotencyConflict`, caught).
 * - batch: `emitMany` of 1,000 events per call.
 * - COPY: `COPY ... FROM STDIN` of 1,000 rows per call as the superuser into `bench_copy`, a
 *   table made `LIKE telemetry_events INCLUDING ALL` (same columns, defaults, identity and
 *   indexes, but no row-level security: COPY is refused under RLS). Server only: pglite-socket
 *   does not serve COPY FROM STDIN.
 *
 * @module
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { IdempotencyConflict } from "../src/errors.ts";
import { idempotencyKeyToString } from "../src/idempotency.ts";
import { PostgresKernelEmitter } from "../src/postgres_kernel_emitter.ts";
import { newTraceId, telemetry } from "../tests/_helpers.ts";
import { openTestDatabase } from "../tests/_pg.ts";

const ROUNDS = 3;
const WINDOW_MS = 1200;
const BATCH = 1000;
const PAYLOAD = { skill: "bom-diff", part: "P-100-200", step: 3, note: "x".repeat(200) };

const startedAt = performance.now();
const db = await openTestDatabase();
try {
  const tenantId = crypto.randomUUID();
  await db.sql`insert into tenants (id, name) values (${tenantId}, 'bench')`;
  await db.sql`create table bench_copy (like telemetry_events including all)`;
  const emitter = new PostgresKernelEmitter(db.writer, {
    tenantId,
    ...(db.embedded ? { role: "plm_kernel_writer" } : {}),
  });
  const traceId = newTraceId();
  let serial = 0;
  const event = (payload: Record<string, string | number> = PAYLOAD, spanId = `s${serial++}`) =>
    telemetry(tenantId, { traceId, spanId, payload });
  const stored = event();
  await emitter.emitTelemetry(stored);

  const paths: [name: string, run: () => Promise<number>][] = [
    ["bare INSERT (autocommit)", async () => {
      const args = event();
      await db.sql`
        insert into telemetry_events (tenant_id, trace_id, span_id, event_kind, event_type,
          capability, payload, idempotency_key, content_hash)
        values (${tenantId}, ${traceId}, ${args.span_id}, 'telemetry', ${args.event_type},
          ${args.capability}, ${db.sql.json(args.payload as Record<string, string | number>)},
          ${idempotencyKeyToString(args.idempotency_key)}, ${args.idempotency_key.content_hash})`;
      return 1;
    }],
    ["emit (new event)", async () => {
      await emitter.emitTelemetry(event());
      return 1;
    }],
    ["replay (same key)", async () => {
      await emitter.emitTelemetry(stored);
      return 1;
    }],
    ["conflict (same identity)", async () => {
      try {
        await emitter.emitTelemetry(event({ ...PAYLOAD, step: serial }, stored.span_id));
      } catch (error) {
        if (!(error instanceof IdempotencyConflict)) throw error;
      }
      return 1;
    }],
    [`batch (emitMany, ${BATCH}/call)`, async () => {
      const events = Array.from({ length: BATCH }, () => ({
        kind: "telemetry" as const,
        args: event(),
      }));
      await emitter.emitMany(events);
      return BATCH;
    }],
  ];
  // pglite-socket does not serve COPY FROM STDIN (electric-sql/pglite#1028): server only.
  if (!db.embedded) {
    paths.push([`COPY (${BATCH}/call, no RLS)`, async () => {
      const lines = Array.from({ length: BATCH }, () => {
        const args = event();
        return [
          tenantId,
          traceId,
          args.span_id,
          "telemetry",
          args.event_type,
          args.capability,
          JSON.stringify(args.payload),
          idempotencyKeyToString(args.idempotency_key),
          args.idempotency_key.content_hash,
        ].join("\t");
      });
      const copy = await db.sql`
        copy bench_copy (tenant_id, trace_id, span_id, event_kind, event_type, capability,
          payload, idempotency_key, content_hash) from stdin`.writable();
      await pipeline(Readable.from([lines.join("\n") + "\n"]), copy);
      return BATCH;
    }]);
  }

  const rates = new Map(paths.map(([name]) => [name, [] as number[]]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of paths) rates.get(name)!.push(await measure(run));
  }
  const median = (values: number[]) => values.toSorted((a, b) => a - b)[values.length >> 1];
  const bare = median(rates.get(paths[0][0])!);
  const server = db.embedded
    ? "PGlite (embedded; PG_DSN unset)"
    : (await db.sql`select version()`)[0].version.split(" on ")[0];
  console.log(`Target: ${server}; Deno ${Deno.version.deno}, postgres.js 3.4`);
  console.log(`Median of ${ROUNDS} rounds of ${WINDOW_MS} ms per path, one statement in flight.\n`);
  console.log("| path | events/s | vs bare INSERT |");
  console.log("| ---- | -------: | -------------: |");
  for (const [name] of paths) {
    const rate = median(rates.get(name)!);
    console.log(
      `| ${name} | ${Math.round(rate).toLocaleString("en")} | ${(rate / bare).toFixed(2)}× |`,
    );
  }
  if (db.embedded) {
    console.log(`| COPY (${BATCH}/call, no RLS) | n/a: pglite-socket has no COPY FROM STDIN | |`);
  }
  console.log(`\nTotal time: ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
} finally {
  await db.close();
}

/** Events per second of `run` (which returns how many events it handled) over one window. */
async function measure(run: () => Promise<number>): Promise<number> {
  let events = 0;
  const start = performance.now();
  while (performance.now() - start < WINDOW_MS) events += await run();
  return events / ((performance.now() - start) / 1000);
}
