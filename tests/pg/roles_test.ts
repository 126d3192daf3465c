import assert from "node:assert/strict";
import { connect, tenantScoped } from "../../src/db.ts";
import { UntrustedRole } from "../../src/errors.ts";
import { migrate, migrationStatus } from "../../src/migrate.ts";
import { hasClusterBinaries, startCluster } from "../_cluster.ts";

// Roles are cluster-wide: these tests make hostile roles on a throwaway cluster of their own.
const ignore = !hasClusterBinaries();

/** DSN of database `name` on the cluster of `dsn`, optionally as another user. */
function on(dsn: string, name: string, user?: string): string {
  const url = new URL(dsn);
  url.pathname = `/${name}`;
  if (user) url.username = user;
  return url.href;
}

Deno.test({
  name: "migrate() refuses package roles that someone created beforehand with more power",
  ignore,
}, async (t) => {
  await using cluster = await startCluster();
  const admin = connect(cluster.dsn, { max: 1 });
  try {
    const hostile: [role: string, create: string, attribute: string][] = [
      ["plm_kernel_writer", "login password 'x'", "LOGIN"],
      ["plm_kernel_writer", "bypassrls", "BYPASSRLS"],
      ["plm_kernel_writer", "superuser", "SUPERUSER"],
      ["plm_kernel_writer", "createrole", "CREATEROLE"],
      ["plm_kernel_writer", "createdb", "CREATEDB"],
      ["plm_kernel_writer", "replication", "REPLICATION"],
      ["plm_kernel_writer", "in role pg_write_all_data", 'member of "pg_write_all_data"'],
      ["plm_migrator", "bypassrls login", "LOGIN"],
      ["plm_migrator", "bypassrls in role pg_read_all_data", 'member of "pg_read_all_data"'],
    ];
    let database = 0;
    for (const [role, create, attribute] of hostile) {
      await t.step(`a ${role} created with ${attribute}`, async () => {
        const name = `hostile_${++database}`;
        await admin.unsafe(`create role ${role} ${create}`);
        await admin.unsafe(`create database ${name}`);
        const dsn = on(cluster.dsn, name);
        const error = await migrate(dsn).then(() => undefined, (e) => e);
        assert.ok(error instanceof UntrustedRole, String(error));
        assert.equal(error.code, "UNTRUSTED_ROLE");
        assert.deepEqual([error.role, error.attribute], [role, attribute]);
        assert.match(error.message, new RegExp(`"${role}"`));
        assert.deepEqual((await migrationStatus(dsn)).applied, [], "a revision was applied");
        await admin.unsafe(`drop database ${name}`);
        await admin.unsafe(`drop role ${role}`);
      });
    }
  } finally {
    await admin.end();
  }
});

Deno.test({
  name: "a writer role given BYPASSRLS after migrating exposes every tenant; migrate() up refuses",
  ignore,
}, async () => {
  await using cluster = await startCluster();
  const admin = connect(cluster.dsn, { max: 1 });
  await admin`create database plm`;
  const sql = connect(on(cluster.dsn, "plm"), { max: 1 });
  await migrate(sql);
  const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
  for (const tenant of [a, b]) {
    await sql`insert into tenants (id, name) values (${tenant}, 't')`;
    await sql`insert into runs (tenant_id, trace_id, actor_kind, actor_id)
              values (${tenant}, 'trace', 'human', 'u')`;
  }
  await sql`create role app login in role plm_kernel_writer`;
  const app = connect(on(cluster.dsn, "plm", "app"), { max: 1 });
  const seen = () => tenantScoped(app, a, (tx) => tx`select distinct tenant_id from runs`);
  try {
    assert.deepEqual((await seen()).map((r) => r.tenant_id), [a]);
    await admin`alter role plm_kernel_writer bypassrls`;
    assert.deepEqual((await seen()).map((r) => r.tenant_id).sort(), [a, b].sort());
    const error = await migrate(sql).then(() => undefined, (e) => e);
    assert.ok(error instanceof UntrustedRole, String(error));
    assert.deepEqual([error.role, error.attribute], ["plm_kernel_writer", "BYPASSRLS"]);
  } finally {
    await Promise.all([app.end(), sql.end(), admin.end()]);
  }
});
