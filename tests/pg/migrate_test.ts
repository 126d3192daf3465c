import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { connect, startEmbeddedPostgres, tenantScoped } from "../../src/db.ts";
import { createServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import {
  DatabaseUnreachable,
  MigrationError,
  MigrationLockTimeout,
  ValidationError,
} from "../../src/errors.ts";
import { migrate, migrationStatus } from "../../src/migrate.ts";
import { isEmbedded, openTestDatabase } from "../_pg.ts";
import { runDeno } from "../_run.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const LOCK = "select pg_advisory_lock(hashtextextended('plm-shared migrate', 0))";
/** Every revision of migrations/, oldest first (file names without extension). */
const REVISIONS = [...Deno.readDirSync(new URL("../../migrations/", import.meta.url))]
  .map((entry) => entry.name)
  .filter((name) => /^\d{4}_.+\.ts$/.test(name))
  .map((name) => name.replace(/\.ts$/, ""))
  .sort();
const LATEST = REVISIONS.length;

Deno.test("migrations/mod.ts lists every revision file of migrations/, by its own name", async () => {
  const files = (await readdir(`${ROOT}migrations`)).filter((f) => f !== "mod.ts").sort();
  const lines = (await readFile(`${ROOT}migrations/mod.ts`, "utf8")).match(/^export .*$/gm);
  assert.deepEqual(
    lines,
    files.map((file) => `export * as "${file.slice(0, -3)}" from "./${file}";`),
    "a revision file is missing from migrations/mod.ts, or listed under another name",
  );
  const revisions = await import("../../migrations/mod.ts");
  assert.deepEqual(Object.keys(revisions), files.map((file) => file.slice(0, -3)));
});

Deno.test("migrate() applies one revision per transaction and reports each", async (t) => {
  await using db = await openTestDatabase({ migrate: false });
  const seen: string[] = [];
  const steps = await migrate(db.sql, { onStep: (step) => seen.push(step.revision) });

  await t.step("every revision, in order, once", async () => {
    assert.equal(steps.length, LATEST);
    assert.ok(steps.every((step) => step.direction === "up"));
    assert.deepEqual(seen, steps.map((step) => step.revision));
    assert.deepEqual(seen, [...seen].sort());
    assert.equal(seen[0], "0001_tenants_runs");
    assert.deepEqual(await migrationStatus(db.sql), { applied: seen, pending: [] });
  });

  await t.step("a second run has nothing to do", async () => {
    assert.deepEqual(await migrate(db.sql), []);
  });

  await t.step("moves to a target revision in both directions", async () => {
    const down = await migrate(db.sql, { to: 3 });
    assert.deepEqual(down.map((s) => s.revision), seen.slice(3).reverse());
    assert.ok(down.every((step) => step.direction === "down"));
    assert.deepEqual((await migrationStatus(db.sql)).applied, seen.slice(0, 3));
    const up = await migrate(db.sql, { to: 8 });
    assert.deepEqual(up.map((s) => s.revision), seen.slice(3, 8));
  });

  await t.step("refuses a target that is not a revision number", async () => {
    for (const to of [-1, LATEST + 1, 2.5, Number.NaN]) {
      await assert.rejects(migrate(db.sql, { to }), ValidationError, `to: ${to}`);
    }
    assert.equal((await migrationStatus(db.sql)).applied.length, 8);
  });
});

Deno.test("migrate() rolls a failing revision back whole and keeps the earlier ones", async () => {
  await using db = await openTestDatabase({ migrate: false });
  // 0002 creates its table, then an index whose name is already taken: the second statement fails.
  await db.sql`create table blocker (x integer)`;
  await db.sql`create index telemetry_events_tenant_trace_created_idx on blocker (x)`;

  const error = await migrate(db.sql).then(() => undefined, (e) => e);
  assert.ok(error instanceof MigrationError);
  assert.equal(error.code, "MIGRATION_FAILED");
  assert.equal(error.revision, "0002_telemetry_events");
  assert.equal((error.cause as { code?: string }).code, "42P07");
  assert.match((error.cause as { query: string }).query, /create index telemetry_events_tenant/);
  assert.deepEqual((await migrationStatus(db.sql)).applied, ["0001_tenants_runs"]);
  const [{ table }] = await db.sql`select to_regclass('telemetry_events') as table`;
  assert.equal(table, null, "the failed revision left its first table behind");

  await db.sql`drop table blocker`;
  assert.equal((await migrate(db.sql)).length, LATEST - 1);
});

Deno.test("migrate() run concurrently applies each revision exactly once", async () => {
  await using db = await openTestDatabase({ migrate: false });
  // On a server each call opens its own connection; PGlite has one, so the calls share it.
  const target = db.embedded ? db.sql : db.dsn;
  const revisions = async () =>
    (await db.sql<{ name: string }[]>`select name from migrations order by id`).map((r) => r.name);

  const ups = await Promise.all([1, 2, 3, 4].map(() => migrate(target)));
  assert.equal(ups.flat().length, LATEST, "revisions applied in total");
  assert.equal(new Set(ups.flat().map((s) => s.revision)).size, LATEST);
  assert.equal((await revisions()).length, LATEST);

  const downs = await Promise.all([1, 2, 3].map(() => migrate(target, { to: 0 })));
  assert.equal(downs.flat().length, LATEST, "revisions reverted in total");
  assert.deepEqual(await revisions(), []);
});

Deno.test({
  name: "migrate() waits for the advisory lock another migration holds",
  // PGlite shares one session, so the lock cannot be held elsewhere.
  ignore: isEmbedded(),
  async fn() {
    await using db = await openTestDatabase({ migrate: false });
    const holder = await db.sql.reserve();
    await holder.unsafe(LOCK);
    let done = false;
    const running = migrate(db.dsn).then((steps) => (done = true, steps));
    await waitFor(async () => {
      const [{ waiting }] = await db.sql`
        select count(*)::int as waiting from pg_locks
        where locktype = 'advisory' and not granted and database = (
          select oid from pg_database where datname = current_database())`;
      return waiting > 0;
    });
    const [{ table }] = await db.sql`select to_regclass('tenants') as table`;
    assert.equal(done, false);
    assert.equal(table, null, "a revision ran while the lock was held");
    await holder.unsafe("select pg_advisory_unlock_all()");
    holder.release();
    assert.equal((await running).length, LATEST);
  },
});

Deno.test({
  name: "migrate() says it waits for the lock and gives up after lockTimeout",
  // PGlite shares one session, so the lock cannot be held elsewhere.
  ignore: isEmbedded(),
  fn: lockTimeoutTest,
});

async function lockTimeoutTest(): Promise<void> {
  await using db = await openTestDatabase({ migrate: false });
  const holder = await db.sql.reserve();
  await holder.unsafe(LOCK);
  try {
    let waits = 0;
    const started = performance.now();
    const error = await migrate(db.dsn, { lockTimeout: 1, onWait: () => waits++ })
      .then(() => undefined, (e) => e);
    assert.ok(error instanceof MigrationLockTimeout, String(error));
    assert.equal(error.code, "MIGRATION_LOCK_TIMEOUT");
    assert.equal(waits, 1);
    assert.ok(performance.now() - started < 5000);
    const [{ table }] = await db.sql`select to_regclass('tenants') as table`;
    assert.equal(table, null);
    await assert.rejects(migrate(db.dsn, { lockTimeout: 0 }), ValidationError);

    const cli = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "migrate.ts", "up", "--lock-timeout", "1", "--dsn", db.dsn],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(cli.stderr);
    assert.equal(cli.code, 1);
    assert.match(stderr, /waiting for another migration to finish \(up to 1 s/);
    assert.match(stderr, /Another migration held the lock/);
  } finally {
    await holder.unsafe("select pg_advisory_unlock_all()");
    holder.release();
  }
}

Deno.test("migrate() on a server that is not PostgreSQL fails within the connect timeout", async (t) => {
  // Loopback servers that accept and stay silent, answer HTTP, or hang up at once.
  const behaviours: Record<string, (socket: Socket) => void> = {
    "silent": () => {},
    "HTTP": (socket) => socket.on("data", () => socket.end("HTTP/1.1 400 Bad Request\r\n\r\n")),
    "hangs up": (socket) => socket.destroy(),
  };
  for (const [name, behaviour] of Object.entries(behaviours)) {
    await t.step(name, async () => {
      const sockets = new Set<Socket>();
      const server = createServer((socket) => {
        sockets.add(socket);
        socket.on("error", () => {});
        behaviour(socket);
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const { port } = server.address() as AddressInfo;
      const sql = connect(`postgres://postgres@127.0.0.1:${port}/x`, { connectTimeout: 1 });
      try {
        const started = performance.now();
        const error = await migrate(sql).then(() => undefined, (e) => e);
        assert.ok(error instanceof DatabaseUnreachable, String(error));
        assert.equal(error.code, "DATABASE_UNREACHABLE");
        assert.match(error.message, new RegExp(`"127.0.0.1:${port}"`));
        assert.ok(performance.now() - started < 3000, "waited past the connect timeout");
      } finally {
        await sql.end({ timeout: 0 });
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => server.close(resolve));
      }
    });
  }
});

Deno.test({
  name: "migrate() down to zero drops both roles when no other database uses them",
  // On a server, other databases of the cluster (other test files) may use the roles.
  ignore: !isEmbedded(),
  async fn() {
    await using db = await openTestDatabase();
    await db.migrate({ to: 0 });
    const roles = await db.sql`select rolname from pg_roles where rolname like 'plm\\_%'`;
    assert.deepEqual([...roles], []);
  },
});

Deno.test({
  name: "migrate() down keeps the roles another database still uses",
  // PGlite serves one database: there is no second one on the same cluster.
  ignore: isEmbedded(),
  async fn() {
    await using db = await openTestDatabase();
    await using other = await openTestDatabase();
    const tenant = crypto.randomUUID();
    await other.sql`insert into tenants (id, name) values (${tenant}, 't')`;
    assert.equal((await db.migrate({ to: 0 })).length, LATEST);
    const roles = await db.sql`
    select rolname, rolbypassrls from pg_roles
    where rolname in ('plm_kernel_writer', 'plm_migrator') order by rolname`;
    assert.deepEqual(roles.map((r) => [r.rolname, r.rolbypassrls]), [
      ["plm_kernel_writer", false],
      ["plm_migrator", true],
    ]);
    const rows = await tenantScoped(other.writer, tenant, (tx) => tx`select id from tenants`);
    assert.deepEqual(rows.map((r) => r.id), [tenant]);
    assert.equal((await db.migrate()).length, LATEST);
  },
});

Deno.test("deno task migrate: up, status, down, exit codes and messages", async (t) => {
  // A database this process holds no connection to while the CLI runs (PGlite takes one).
  await using pg = isEmbedded()
    ? await startEmbeddedPostgres()
    : await openTestDatabase({ migrate: false });
  const run = async (...args: string[]) => {
    const { code, stdout, stderr } = await runDeno(ROOT, "run", "-A", "migrate.ts", ...args);
    return { code, lines: stdout.trim().split("\n"), stderr };
  };

  await t.step("up --to prints a line per revision applied", async () => {
    const result = await run("up", "--to", "3", "--dsn", pg.dsn);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.lines, [
      "applied  0001_tenants_runs",
      "applied  0002_telemetry_events",
      "applied  0003_llm_calls",
    ]);
  });

  await t.step("status lists applied and pending revisions", async () => {
    const result = await run("status", "--dsn", pg.dsn);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.lines.filter((l) => l.startsWith("applied ")).length, 3);
    assert.equal(result.lines.filter((l) => l.startsWith("pending ")).length, LATEST - 3);
  });

  await t.step("up applies the rest, down reverts one, down --to 0 the others", async () => {
    assert.equal((await run("up", "--dsn", pg.dsn)).lines.length, LATEST - 3);
    const one = await run("down", "--dsn", pg.dsn);
    assert.deepEqual(one.lines, [`reverted ${REVISIONS.at(-1)}`]);
    const rest = await run("down", "--to", "0", "--dsn", pg.dsn);
    assert.equal(rest.lines.length, LATEST - 1);
    assert.equal(rest.lines.at(-1), "reverted 0001_tenants_runs");
    assert.deepEqual((await run("down", "--dsn", pg.dsn)).lines, ["nothing to revert"]);
  });

  await t.step("a target in the wrong direction exits 1", async () => {
    const result = await run("down", "--to", "5", "--dsn", pg.dsn);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /would move the other way/);
  });

  await t.step("a failing revision exits 1 naming the revision and the statement", async () => {
    await exec(
      pg.dsn,
      "create table blocker (x integer)",
      "create index telemetry_events_tenant_trace_created_idx on blocker (x)",
    );
    const result = await run("up", "--dsn", pg.dsn);
    assert.equal(result.code, 1);
    assert.deepEqual(result.lines, ["applied  0001_tenants_runs"]);
    assert.match(result.stderr, /Migration "0002_telemetry_events" failed and was rolled back/);
    assert.match(result.stderr, /statement: create index telemetry_events_tenant_trace_created/);
  });

  await t.step("--help and -h print the usage and exit 0", async () => {
    for (const flag of ["--help", "-h"]) {
      const result = await run(flag);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.lines[0], /^Usage: migrate \[status\|up\|down\] \[--to N\]/);
      assert.ok(result.lines.some((line) => line.includes("jsr:@tracepulse/plm-shared/migrate")));
    }
  });

  await t.step("a usage error exits 2 with the message and the usage", async () => {
    for (
      const [args, message] of [
        [["upp", "--dsn", pg.dsn], /Unknown command "upp"/],
        [["up", "down", "--dsn", pg.dsn], /Unknown command "up down"/],
        [["up", "--force"], /Unknown option '--force'/],
        [["up"], /No database: set PG_DSN or pass --dsn/],
      ] as const
    ) {
      const result = await run(...args);
      assert.equal(result.code, 2, args.join(" "));
      assert.match(result.stderr, message);
      assert.match(result.stderr, /Usage: migrate /);
      assert.deepEqual(result.lines, [""], "printed on stdout");
    }
  });
});

/** Run statements on a connection of their own, closed afterwards (PGlite takes one at a time). */
async function exec(dsn: string, ...statements: string[]): Promise<void> {
  const sql = connect(dsn, { max: 1 });
  try {
    for (const statement of statements) await sql.unsafe(statement);
  } finally {
    await sql.end();
  }
}

Deno.test("migrate() refuses applied revisions that are not the package's, in its order", async () => {
  await using db = await openTestDatabase({ migrate: false });
  await migrate(db.sql, { to: 2 });
  await db
    .sql`update migrations set name = '0002_other.ts' where name = '0002_telemetry_events.ts'`;
  await assert.rejects(
    migrationStatus(db.sql),
    /Cannot run "0002_telemetry_events" after "0002_other" has been applied/,
  );
  await assert.rejects(migrate(db.sql), /Cannot run "0002_telemetry_events" after "0002_other"/);
});

Deno.test("migrate() on a database ahead of the package does nothing, and reverts nothing it does not know", async () => {
  await using db = await openTestDatabase({ migrate: false });
  await migrate(db.sql);
  await db.sql`insert into migrations (name, created_at) values ('0999_from_the_future.ts', now())`;
  const status = await migrationStatus(db.sql);
  assert.equal(status.applied.at(-1), "0999_from_the_future");
  assert.deepEqual(status.pending, []);
  assert.deepEqual(await migrate(db.sql), []);
  await assert.rejects(
    migrate(db.sql, { to: LATEST - 1 }),
    /Cannot revert "0999_from_the_future": this version of the package does not know it/,
  );
  assert.equal((await migrationStatus(db.sql)).applied.length, LATEST + 1);
});

Deno.test("migrate() continues a database migrated by the Node build (.js names)", async () => {
  await using db = await openTestDatabase({ migrate: false });
  await migrate(db.sql, { to: 4 });
  await db.sql`update migrations set name = regexp_replace(name, '\.ts$', '.js')`;

  const status = await migrationStatus(db.sql);
  assert.equal(status.applied.length, 4);
  assert.equal(status.pending.length, LATEST - 4);
  assert.deepEqual((await migrate(db.sql, { to: 3 })).map((s) => s.revision), [
    "0004_connector_calls",
  ]);
  const [{ count }] = await db.sql`select count(*)::int as count from migrations`;
  assert.equal(count, 3);
  assert.equal((await migrate(db.sql)).length, LATEST - 3);
});

/** Poll `condition` every 20 ms until it holds; fail after 10 seconds. */
async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 10_000; !await condition();) {
    if (Date.now() > deadline) throw new Error("the condition did not hold within 10 seconds");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
