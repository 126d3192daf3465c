/**
 * Test databases on a Citus coordinator (used by tests/_pg.ts when the server DSN's database
 * has the `citus` extension, e.g. `CITUS_DSN`). Citus keeps its metadata per database, so a
 * fresh database needs the extension on every node and the workers registered again:
 * create the database with propagation on (it appears on every node), `CREATE EXTENSION citus`
 * on each worker, then on the coordinator, then register the coordinator and the workers.
 *
 * @module
 */
import type postgres from "postgres";
import { connect } from "../src/db.ts";

/** One node of the cluster, as the coordinator lists it. */
interface CitusNode {
  readonly host: string;
  readonly port: number;
  readonly coordinator: boolean;
}

/**
 * The nodes of the cluster `admin` is connected to, or `undefined` when its database has no
 * `citus` extension (plain PostgreSQL).
 */
export async function citusNodes(admin: postgres.Sql): Promise<CitusNode[] | undefined> {
  const [{ citus }] = await admin`
    select exists (select 1 from pg_extension where extname = 'citus') as citus`;
  if (!citus) return undefined;
  return (await admin`select nodename, nodeport, groupid from pg_dist_node order by nodeid`)
    .map((node) => ({ host: node.nodename, port: node.nodeport, coordinator: node.groupid === 0 }));
}

/**
 * Create database `name` on every node of the cluster, with Citus set up in it. `admin` must
 * be a one-connection client to the coordinator (the propagation setting is per session);
 * `dsn` is the new database's superuser DSN on the coordinator, `dsnOf` the same on a worker.
 */
export async function createCitusDatabase(
  admin: postgres.Sql,
  nodes: readonly CitusNode[],
  name: string,
  dsn: string,
  dsnOf: (node: CitusNode) => string,
): Promise<void> {
  await admin.unsafe("set citus.enable_create_database_propagation = on");
  await admin`create database ${admin(name)}`;
  const workers = nodes.filter((node) => !node.coordinator);
  for (const node of workers) await onNode(dsnOf(node), (sql) => sql`create extension citus`);
  const coordinator = nodes.find((node) => node.coordinator);
  await onNode(dsn, async (sql) => {
    await sql`create extension citus`;
    if (coordinator) {
      await sql`select citus_set_coordinator_host(${coordinator.host}, ${coordinator.port})`;
    }
    for (const node of workers) await sql`select citus_add_node(${node.host}, ${node.port})`;
  });
}

/** Drop database `name` on every node (its idle Citus connections are terminated). */
export async function dropCitusDatabase(admin: postgres.Sql, name: string): Promise<void> {
  await admin.unsafe("set citus.enable_create_database_propagation = on");
  await admin`drop database if exists ${admin(name)} with (force)`;
}

async function onNode(dsn: string, work: (sql: postgres.Sql) => Promise<unknown>) {
  const sql = connect(dsn, { max: 1 });
  try {
    await work(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Set `app.tenant_id` to `value` (any text) for the transaction on the coordinator and on the
 * shards it touches: Citus propagates a `SET LOCAL`, never a `set_config`.
 */
export async function setOnShards(tx: postgres.TransactionSql, value: string): Promise<void> {
  const [{ statement }] = await tx`
    select format('set local app.tenant_id = %L', ${value}::text) as statement`;
  await tx.unsafe("set local citus.propagate_set_commands = local");
  await tx.unsafe(statement);
}
