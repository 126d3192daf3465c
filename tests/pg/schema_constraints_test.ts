import assert from "node:assert/strict";
import { openTestDatabase } from "../_pg.ts";

/** ley's bookkeeping table, not part of the schema. */
const LEY_TABLE = "migrations";

Deno.test("schema catalogs: keys, row level security and roles", async (t) => {
  await using db = await openTestDatabase();
  const { sql } = db;
  const tables = (await sql`
    select c.relname as name,
           exists (select from pg_attribute a where a.attrelid = c.oid
                   and a.attname = 'tenant_id' and not a.attisdropped) as scoped,
           c.relrowsecurity as rls, c.relforcerowsecurity as forced
    from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' and c.relname <> ${LEY_TABLE}
    order by c.relname`).map((row) => ({ ...row }));

  await t.step("every table but tenants is tenant-scoped", () => {
    assert.deepEqual(tables.filter((table) => !table.scoped).map((table) => table.name), [
      "tenants",
    ]);
    assert.equal(tables.length, 7);
  });

  await t.step(
    "every primary key, unique constraint and unique index includes tenant_id",
    async () => {
      const unique = await sql`
      select c.relname as table, i.indexrelid::regclass::text as index,
             array(select a.attname::text from unnest(i.indkey) k
                   join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k) as columns
      from pg_index i join pg_class c on c.oid = i.indrelid
      where c.relnamespace = 'public'::regnamespace and i.indisunique
        and c.relname not in ('tenants', ${LEY_TABLE})`;
      assert.ok(unique.length >= 9, `only ${unique.length} unique indexes found`);
      for (const index of unique) {
        assert.ok(index.columns.includes("tenant_id"), `${index.index} (${index.columns})`);
      }
    },
  );

  await t.step("every foreign key between tenant tables matches on tenant_id", async () => {
    const keys = await sql`
      select conname as name, confrelid::regclass::text as target,
             array(select a.attname::text from unnest(conkey) k
                   join pg_attribute a on a.attrelid = conrelid and a.attnum = k) as columns,
             array(select a.attname::text from unnest(confkey) k
                   join pg_attribute a on a.attrelid = confrelid and a.attnum = k) as referenced
      from pg_constraint where connamespace = 'public'::regnamespace and contype = 'f'`;
    assert.equal(keys.length, 8);
    for (const key of keys) {
      if (key.target === "tenants") {
        assert.deepEqual([key.columns, key.referenced], [["tenant_id"], ["id"]], key.name);
      } else {
        assert.equal(key.columns[0], "tenant_id", key.name);
        assert.equal(key.referenced[0], "tenant_id", key.name);
      }
    }
  });

  await t.step("the constraints the emitter dispatches on have their agreed names", async () => {
    const named = await sql`
      select conname as name,
             array(select a.attname::text from unnest(conkey) k
                   join pg_attribute a on a.attrelid = conrelid and a.attnum = k) as columns
      from pg_constraint where connamespace = 'public'::regnamespace and contype = 'u'`;
    const columns = Object.fromEntries(named.map((row) => [row.name, row.columns]));
    const [{ keys }] = await sql`
      select json_object_agg(conname, array(select a.attname::text from unnest(conkey) k
                   join pg_attribute a on a.attrelid = conrelid and a.attnum = k)) as keys
      from pg_constraint where connamespace = 'public'::regnamespace and contype = 'p'`;
    for (const table of ["telemetry_events", "llm_calls", "connector_calls"]) {
      // 0016: the logical key plus the stored content hash decide replay and conflict; 0019:
      // the logical key is the primary key.
      assert.equal(columns[`${table}_idempotency_key_key`], undefined);
      assert.equal(columns[`uq_${table}_logical`], undefined);
      assert.deepEqual(keys[`${table}_pkey`], ["tenant_id", "trace_id", "span_id", "event_type"]);
    }
    assert.deepEqual(columns.uq_pricing_snapshots_tenant_model_date_digest, [
      "tenant_id",
      "model",
      "snapshot_date",
      "price_table_digest",
    ]);
  });

  await t.step("row level security is enabled and forced on all seven tables", async () => {
    assert.deepEqual(tables.filter((table) => !table.rls || !table.forced), []);
    const policies = await sql`
      select tablename from pg_policies
      where schemaname = 'public' and policyname = tablename || '_tenant_isolation'`;
    assert.deepEqual(policies.map((p) => p.tablename).sort(), tables.map((table) => table.name));
    // Besides isolation, only plm_tenant_admin's policies on tenants (0014).
    const others = await sql`
      select policyname, roles::text[] as roles from pg_policies
      where schemaname = 'public' and policyname <> tablename || '_tenant_isolation'
      order by policyname`;
    assert.deepEqual(others.map((p) => [p.policyname, p.roles]), [
      ["tenants_admin_insert", ["plm_tenant_admin"]],
      ["tenants_admin_select", ["plm_tenant_admin"]],
    ]);
    const [view] = await sql`
      select reloptions from pg_class where oid = 'mcrc_v1_view'::regclass`;
    assert.deepEqual(view.reloptions, ["security_invoker=true"]);
  });

  await t.step(
    "plm_kernel_writer may insert and read, update only cost and quality columns",
    async () => {
      const [role] = await sql`
      select rolcanlogin, rolbypassrls, rolsuper from pg_roles where rolname = 'plm_kernel_writer'`;
      assert.deepEqual({ ...role }, { rolcanlogin: false, rolbypassrls: false, rolsuper: false });
      const privileges = await sql`
      select c.relname as table, p.privilege
      from pg_class c
      cross join unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES',
                              'TRIGGER']) p(privilege)
      where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'v')
        and has_table_privilege('plm_kernel_writer', c.oid, p.privilege)
      order by 1, 2`;
      const granted = privileges.map((row) => `${row.table} ${row.privilege}`);
      assert.ok(
        !granted.some((line) => /DELETE|TRUNCATE|TRIGGER|REFERENCES/.test(line)),
        granted.join(),
      );
      assert.ok(
        !granted.some((line) => line.endsWith("UPDATE")),
        "a whole-table UPDATE was granted",
      );
      const updatable = await sql`
      select c.relname || '.' || a.attname as column
      from pg_attribute a join pg_class c on c.oid = a.attrelid
      where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' and a.attnum > 0
        and not a.attisdropped and has_column_privilege('plm_kernel_writer', c.oid, a.attnum, 'UPDATE')
      order by 1`;
      assert.deepEqual(updatable.map((row) => row.column), [
        "connector_calls.cost_eur",
        "connector_calls.cost_status",
        "connector_calls.pricing_snapshot_id",
        "connector_calls.pricing_version",
        "llm_calls.cost_eur",
        "llm_calls.cost_status",
        "llm_calls.pricing_snapshot_id",
        "llm_calls.pricing_version",
        "runs.ended_at",
        "runs.quality_level",
      ]);
      const inserts = granted.filter((line) => line.endsWith("INSERT")).map((l) => l.split(" ")[0]);
      assert.deepEqual(inserts, tables.map((table) => table.name).filter((n) => n !== "tenants"));
    },
  );

  await t.step(
    "plm_migrator bypasses row level security, reads and appends, never rewrites history",
    async () => {
      const [role] = await sql`
      select rolcanlogin, rolbypassrls from pg_roles where rolname = 'plm_migrator'`;
      assert.deepEqual({ ...role }, { rolcanlogin: false, rolbypassrls: true });
      const granted: string[] = [];
      for (const table of tables) {
        for (const privilege of ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"]) {
          const [{ ok }] = await sql`
          select has_table_privilege('plm_migrator', ${table.name}, ${privilege}) as ok`;
          if (ok) granted.push(`${table.name} ${privilege}`);
        }
      }
      const expected = tables.flatMap((table) =>
        table.name === "tenants"
          ? ["SELECT", "INSERT", "UPDATE", "DELETE"].map((p) => `tenants ${p}`)
          : table.name === "runs"
          ? ["SELECT", "INSERT", "UPDATE"].map((p) => `runs ${p}`)
          : [`${table.name} SELECT`, `${table.name} INSERT`]
      );
      assert.deepEqual(granted, expected);
    },
  );
});

Deno.test("every function pins search_path or is bound at creation; PUBLIC may not create in schema public", async () => {
  await using db = await openTestDatabase({ migrate: false });
  // An upgraded cluster (before PostgreSQL 15) lets everyone create in public.
  await db.sql`grant create on schema public to public`;
  await db.migrate();
  // A SQL-standard body (`RETURN`, `BEGIN ATOMIC`) resolves its names at creation: no caller's
  // search_path reaches it.
  const functions = await db.sql`
    select p.proname as name, coalesce(p.proconfig, '{}') as config,
      p.prosqlbody is not null as bound
    from pg_proc p where p.pronamespace = 'public'::regnamespace order by 1`;
  assert.ok(functions.length >= 5, `only ${functions.length} functions`);
  for (const fn of functions) {
    assert.ok(
      fn.bound || fn.config.includes("search_path=pg_catalog, pg_temp"),
      `${fn.name} does not pin search_path: ${fn.config}`,
    );
  }
  const [{ create }] = await db.sql`
    select exists (
      select from pg_namespace n, aclexplode(n.nspacl) a
      where n.nspname = 'public' and a.grantee = 0 and a.privilege_type = 'CREATE'
    ) as create`;
  assert.equal(create, false, "PUBLIC may still create in schema public");
});
