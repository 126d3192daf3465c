/**
 * 0014: the run lifecycle. Role `plm_tenant_admin` (NOLOGIN): SELECT and INSERT on `tenants`,
 * nothing else; policies `tenants_admin_select` and `tenants_admin_insert` let it see and add
 * any tenant (the tenant isolation policy of 0009 still binds every other role, and
 * `plm_kernel_writer` has no INSERT on `tenants` at all). A pre-existing `plm_tenant_admin` with
 * LOGIN, SUPERUSER, CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS or membership in another role
 * is refused, never trusted (`verifyRoles`, the check of 0013 and of every `migrate()` run). `uq_artifacts_tenant_uri_sha256` makes an artifact recorded once
 * per (tenant, storage_uri, sha256).
 *
 * @module
 */
import type postgres from "postgres";
import { dropRoleIfUnused, verifyRoles, withRoleRetry } from "../src/_migrate_roles.ts";

/** Apply the revision. */
export async function up(sql: postgres.Sql): Promise<void> {
  await verifyRoles(sql, ["plm_tenant_admin"]);
  await withRoleRetry(
    sql,
    `
    if not exists (select from pg_catalog.pg_roles where rolname = 'plm_tenant_admin') then
      create role plm_tenant_admin nologin;
    end if;
    grant usage on schema public to plm_tenant_admin;
    grant select, insert on public.tenants to plm_tenant_admin;
  `,
  );
  await sql`
    create policy tenants_admin_select on public.tenants for select to plm_tenant_admin
      using (true)`;
  await sql`
    create policy tenants_admin_insert on public.tenants for insert to plm_tenant_admin
      with check (true)`;
  await sql`
    alter table public.artifacts add constraint uq_artifacts_tenant_uri_sha256
      unique (tenant_id, storage_uri, sha256)`;
}

/** Revert the revision. */
export async function down(sql: postgres.Sql): Promise<void> {
  await sql`alter table public.artifacts drop constraint uq_artifacts_tenant_uri_sha256`;
  await sql`drop policy tenants_admin_insert on public.tenants`;
  await sql`drop policy tenants_admin_select on public.tenants`;
  await sql`revoke all on public.tenants from plm_tenant_admin`;
  await sql`revoke usage on schema public from plm_tenant_admin`;
  await dropRoleIfUnused(sql, "plm_tenant_admin");
}
