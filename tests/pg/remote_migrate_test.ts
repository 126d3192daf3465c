/**
 * The migrations run from a remote import, as from `jsr:@tracepulse/plm-shared/migrate`: the
 * package is served over HTTP on loopback and run by a Deno process that has no configuration
 * of its own, then compared with a database migrated from this checkout.
 *
 * The server is the nearest equivalent of JSR that runs here: it serves exactly the files
 * `deno publish --dry-run` would upload (so a file left out of the package fails this test),
 * and rewrites each bare specifier of deno.json's import map to its `npm:` target in the served
 * source, which is what JSR does at publish time. Passing `--import-map` to the client instead
 * would prove less: a JSR consumer has no access to this package's import map.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, startEmbeddedPostgres } from "../../src/db.ts";
import { isEmbedded, openTestDatabase } from "../_pg.ts";
import { runDeno } from "../_run.ts";
import { catalogSnapshot } from "./_catalog.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

Deno.test("the package served over HTTP migrates a database exactly as a checkout does", async (t) => {
  await using server = await servePackage();
  await using client = await tempDir();
  const migrateUrl = `${server.url}migrate.ts`;
  const checkout = await migratedByCheckout();

  // A database this process holds no connection to while the CLI runs (PGlite takes one).
  await using pg = isEmbedded()
    ? await startEmbeddedPostgres()
    : await openTestDatabase({ migrate: false });

  await t.step("deno run <url>/migrate.ts --help prints the usage", async () => {
    const result = await runDeno(client.path, "run", "-A", migrateUrl, "--help");
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Usage: migrate \[status\|up\|down\]/);
  });

  await t.step("up applies every revision, status lists them applied", async () => {
    const up = await runDeno(client.path, "run", "-A", migrateUrl, "up", "--dsn", pg.dsn);
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual(lines(up.stdout), checkout.names.map((name) => `applied  ${name}`));
    const status = await runDeno(client.path, "run", "-A", migrateUrl, "status", "--dsn", pg.dsn);
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual(lines(status.stdout), checkout.names.map((name) => `applied  ${name}`));
  });

  await t.step("the schema and ley's table are those of a checkout-migrated database", async () => {
    assert.deepEqual(await snapshot(pg.dsn), checkout.snapshot);
  });

  await t.step("migrate(sql) imported from the URL migrates a fresh database", async () => {
    await using fresh = isEmbedded()
      ? await startEmbeddedPostgres()
      : await openTestDatabase({ migrate: false });
    await writeFile(
      join(client.path, "consumer.ts"),
      `const [base, dsn] = Deno.args;
const { migrate, migrationStatus } = await import(base + "migrate.ts");
const { connect } = await import(base + "postgres.ts");
const sql = connect(dsn, { max: 1 });
try {
  const steps = await migrate(sql);
  console.log(JSON.stringify({ steps, status: await migrationStatus(sql) }));
} finally {
  await sql.end();
}
`,
    );
    const run = await runDeno(client.path, "run", "-A", "consumer.ts", server.url, fresh.dsn);
    assert.equal(run.code, 0, run.stderr);
    const { steps, status } = JSON.parse(run.stdout);
    assert.deepEqual(steps, checkout.names.map((revision) => ({ direction: "up", revision })));
    assert.deepEqual(status, { applied: checkout.names, pending: [] });
    assert.deepEqual(await snapshot(fresh.dsn), checkout.snapshot);
  });
});

interface Checkout {
  /** Revision names in ley's table, in order. */
  names: string[];
  /** The catalog snapshot plus ley's table rows (names with their extension). */
  snapshot: Record<string, string[]>;
}

/** Migrate a database from this checkout and take its snapshot. */
async function migratedByCheckout(): Promise<Checkout> {
  await using db = await openTestDatabase();
  const snapshot = await snapshotOf(db.sql);
  return { names: snapshot.ley.map((name) => name.replace(/\.ts$/, "")), snapshot };
}

/** Snapshot a database on a connection of its own, closed afterwards. */
async function snapshot(dsn: string): Promise<Record<string, string[]>> {
  const sql = connect(dsn, { max: 1 });
  try {
    return await snapshotOf(sql);
  } finally {
    await sql.end();
  }
}

async function snapshotOf(sql: ReturnType<typeof connect>): Promise<Record<string, string[]>> {
  const rows = await sql<{ name: string }[]>`select name from migrations order by id`;
  return { ...await catalogSnapshot(sql), ley: rows.map((row) => row.name) };
}

/** Serve the files `deno publish` would upload, bare imports rewritten as JSR does. */
async function servePackage(): Promise<{ url: string } & AsyncDisposable> {
  const config = JSON.parse(await readFile(join(ROOT, "deno.json"), "utf8"));
  const imports = config.imports as Record<string, string>;
  const published = await publishedFiles();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname).slice(1);
    if (!published.has(path)) return new Response("not found", { status: 404 });
    const text = await readFile(join(ROOT, path), "utf8");
    const type = path.endsWith(".ts") ? "application/typescript" : "application/json";
    return new Response(path.endsWith(".ts") ? rewriteBareImports(text, imports) : text, {
      headers: { "content-type": type },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** Root-relative paths of the files `deno publish --dry-run` lists. */
async function publishedFiles(): Promise<Set<string>> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
  }).output();
  const output = new TextDecoder().decode(result.stderr) + new TextDecoder().decode(result.stdout);
  assert.equal(result.code, 0, output);
  const root = new URL(`file://${ROOT}`).href;
  const files = [...output.matchAll(/^\s+(file:\/\/\S+) \(/gm)].map((m) => m[1].slice(root.length));
  assert.ok(files.includes("migrate.ts"), output);
  return new Set(files);
}

/** `from "zod"`, `import("postgres")` → the import map's `npm:` target, as JSR rewrites them. */
function rewriteBareImports(source: string, imports: Record<string, string>): string {
  return source.replace(
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])([^"'.\/][^"']*)\2/g,
    (whole, before: string, quote: string, specifier: string) => {
      const name = Object.keys(imports).find((key) =>
        specifier === key || specifier.startsWith(`${key}/`)
      );
      if (name === undefined) return whole;
      return `${before}${quote}${imports[name]}${specifier.slice(name.length)}${quote}`;
    },
  );
}

async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await mkdtemp(join(tmpdir(), "plm-remote-"));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

function lines(text: string): string[] {
  return text.trim().split("\n");
}
