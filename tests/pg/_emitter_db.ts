/**
 * Shared by the PostgresKernelEmitter tests: a migrated test database with tenants and
 * emitters that write under row-level security (on PGlite, where every connection is the
 * superuser, through the emitter's `role` option). Valid arguments come from `../_helpers.ts`.
 *
 * @module
 */
import type postgres from "postgres";
import type { EventTable } from "../../src/kernel_api.ts";
import {
  PostgresKernelEmitter,
  type PostgresKernelEmitterOptions,
} from "../../src/postgres_kernel_emitter.ts";
import { isEmbedded, openTestDatabase, type TestDatabase } from "../_pg.ts";

/** Insert a tenant row (as the superuser) and return its id. */
export async function addTenant(
  db: TestDatabase,
  tenantId: string = crypto.randomUUID(),
): Promise<string> {
  await db.sql`insert into tenants (id, name) values (${tenantId}, ${`tenant ${tenantId}`})`;
  return tenantId;
}

/**
 * An emitter for `tenantId` on `sql` (default: the writer login). On PGlite it switches to
 * `plm_kernel_writer` per statement, so row-level security applies there too.
 */
export function emitterFor(
  db: TestDatabase,
  tenantId: string,
  sql: postgres.Sql = db.writer,
  options: Partial<PostgresKernelEmitterOptions> = {},
): PostgresKernelEmitter {
  return new PostgresKernelEmitter(sql, {
    tenantId,
    ...(db.embedded ? { role: "plm_kernel_writer" } : {}),
    ...options,
  });
}

/** Rows of `table` for `tenantId`, counted by the superuser. */
export async function countRows(
  db: TestDatabase,
  table: EventTable | "pricing_snapshots",
  tenantId: string,
): Promise<number> {
  const [row] = await db.sql`
    select count(*)::int as n from ${db.sql(table)} where tenant_id = ${tenantId}`;
  return row.n;
}

/**
 * A test that needs a real server (ignored on PGlite, so the skip is not counted as a pass),
 * given a fresh migrated database and one registered tenant.
 */
export function serverTest(
  name: string,
  fn: (db: TestDatabase, tenantId: string, t: Deno.TestContext) => Promise<void>,
): void {
  Deno.test({ name, ignore: isEmbedded() }, async (t) => {
    await using db = await openTestDatabase();
    await fn(db, await addTenant(db), t);
  });
}
