import assert from "node:assert/strict";
import type postgres from "postgres";
import { connect, tenantScoped } from "../../src/db.ts";
import { ValidationError } from "../../src/errors.ts";
import { openTestDatabase } from "../_pg.ts";

Deno.test("connect() refuses a DSN that is not a postgres URL, without echoing it", () => {
  for (const dsn of ["", "localhost:5432", "mysql://u:secret@h/db", "postgres://"]) {
    const error = assertThrowsValidation(() => connect(dsn));
    assert.ok(!error.message.includes("secret"));
  }
});

Deno.test("connect() applies the documented defaults", async () => {
  const sql = connect("postgresql://u@127.0.0.1:1/db");
  assert.equal(sql.options.max, 10);
  assert.equal(sql.options.idle_timeout, 30);
  assert.equal(sql.options.connect_timeout, 10);
  assert.equal(sql.options.connection.application_name, "plm-shared");
  await sql.end();
});

Deno.test("tenantScoped() refuses a bad tenant id before any SQL", async () => {
  // Nothing listens on port 1: any SQL sent would fail with a connection error instead.
  const sql = connect("postgres://u@127.0.0.1:1/db", { connectTimeout: 1 });
  let called = false;
  for (const id of ["", "tenant-1", "00000000-0000-0000-0000-000000000000", "' or 1=1 --"]) {
    const error = await tenantScoped(sql, id, () => (called = true)).then(() => null, (e) => e);
    assert.ok(error instanceof ValidationError, String(error));
    assert.equal(error.code, "VALIDATION_FAILED");
  }
  assert.equal(called, false);
  await sql.end();
});

Deno.test("tenantScoped() runs one transaction as plm_kernel_writer for one tenant", async (t) => {
  await using db = await openTestDatabase();
  const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
  for (const id of [a, b]) await db.sql`insert into tenants (id, name) values (${id}, 'x')`;
  const insertRun = (tx: postgres.TransactionSql, trace: string) =>
    tx`insert into runs (tenant_id, trace_id, actor_kind, actor_id)
       values (${a}, ${trace}, 'human', 'u-1')`;

  await t.step("sets the tenant and the role for the transaction only", async () => {
    const [inside] = await tenantScoped(
      db.writer,
      a.toUpperCase(),
      (tx) =>
        tx`select current_setting('app.tenant_id') as tenant, current_user as role,
                (select array_agg(id::text) from tenants) as visible`,
    );
    assert.deepEqual({ ...inside }, { tenant: a, role: "plm_kernel_writer", visible: [a] });
    const [after] = await db.writer`
      select coalesce(current_setting('app.tenant_id', true), '') as tenant, current_user as role`;
    assert.deepEqual({ ...after }, { tenant: "", role: db.writerRole });
  });

  await t.step("commits what fn did and returns its value", async () => {
    const result = await tenantScoped(db.writer, a, async (tx) => {
      await insertRun(tx, "committed");
      return 42;
    });
    assert.equal(result, 42);
    const rows = await db.sql`select trace_id from runs where tenant_id = ${a}`;
    assert.deepEqual(rows.map((r) => r.trace_id), ["committed"]);
  });

  await t.step("rolls everything back when fn throws", async () => {
    const failure = new Error("boom");
    await assert.rejects(
      tenantScoped(db.writer, a, async (tx) => {
        await insertRun(tx, "rolled-back");
        throw failure;
      }),
      (error) => error === failure,
    );
    const [{ n }] = await db
      .sql`select count(*)::int as n from runs where trace_id = 'rolled-back'`;
    assert.equal(n, 0);
  });

  await t.step("writing for another tenant inside the scope is refused", async () => {
    const error = await tenantScoped(db.writer, b, (tx) => insertRun(tx, "foreign"))
      .then(() => null, (e) => e);
    assert.equal(error?.code, "42501");
  });
});

function assertThrowsValidation(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ValidationError, String(error));
    return error;
  }
  assert.fail("expected a ValidationError");
}
