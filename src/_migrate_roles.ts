/**
 * Internal: the one check of the package's roles, and the one way a migration's `down` drops
 * one. Roles are cluster-wide, so a role of ours may have been created (or altered later) by
 * someone else; `migrate()` runs this check on every `up` run and the migrations that create or
 * rely on a role run it too.
 *
 * @module
 */
import type postgres from "postgres";
import { UntrustedRole } from "./errors.ts";

/**
 * The package's roles and whether each one is meant to bypass row level security. A migration
 * that creates a role adds it here.
 */
export const PACKAGE_ROLES: Readonly<Record<string, { readonly bypassRls: boolean }>> = {
  plm_kernel_writer: { bypassRls: false },
  plm_migrator: { bypassRls: true },
  plm_tenant_admin: { bypassRls: false },
};

/** Role attributes no package role may have (`pg_roles` column → SQL keyword). */
const FORBIDDEN = [
  ["rolcanlogin", "LOGIN"],
  ["rolsuper", "SUPERUSER"],
  ["rolcreaterole", "CREATEROLE"],
  ["rolcreatedb", "CREATEDB"],
  ["rolreplication", "REPLICATION"],
  ["rolbypassrls", "BYPASSRLS"],
] as const;

/**
 * Refuse a package role that exists with more power than the package gives it: LOGIN,
 * SUPERUSER, CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS (except where {@link PACKAGE_ROLES}
 * expects it) or membership in any other role. Roles that do not exist yet pass.
 *
 * @param sql A connection of a role that may read `pg_roles` (anyone may).
 * @param roles The roles to check. @default every role of {@link PACKAGE_ROLES}
 * @throws {UntrustedRole} Naming the first role and attribute found.
 */
export async function verifyRoles(
  sql: postgres.Sql | postgres.TransactionSql | postgres.ReservedSql,
  roles: readonly string[] = Object.keys(PACKAGE_ROLES),
): Promise<void> {
  const rows = await sql<Record<string, unknown>[]>`
    select r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolcreatedb,
      r.rolreplication, r.rolbypassrls,
      array(select m.roleid::regrole::text from pg_catalog.pg_auth_members m
            where m.member = r.oid order by 1) as member_of
    from pg_catalog.pg_roles r where r.rolname in ${sql(roles)} order by r.rolname`;
  for (const row of rows) {
    const role = String(row.rolname);
    for (const [column, attribute] of FORBIDDEN) {
      if (column === "rolbypassrls" && PACKAGE_ROLES[role]?.bypassRls) continue;
      if (row[column] === true) throw new UntrustedRole(role, attribute);
    }
    const memberOf = row.member_of as string[];
    if (memberOf.length > 0) throw new UntrustedRole(role, `member of "${memberOf[0]}"`);
  }
}

/**
 * Drop one of the package's roles in a migration's `down`, unless the cluster still needs it: a
 * role that other roles are members of, or that another database holds privileges for, is kept
 * (with a notice). A concurrent drop by another database's migration is tolerated.
 *
 * @param sql The migration's connection.
 * @param role One of {@link PACKAGE_ROLES}.
 * @throws {TypeError} When `role` is not a package role (it is written into the SQL).
 */
export async function dropRoleIfUnused(
  sql: postgres.Sql | postgres.TransactionSql | postgres.ReservedSql,
  role: string,
): Promise<void> {
  if (!Object.hasOwn(PACKAGE_ROLES, role)) throw new TypeError(`Not a package role: "${role}"`);
  await sql.unsafe(`
    do $$
    begin
      if exists (select from pg_auth_members where roleid = '${role}'::regrole) then
        raise notice 'role ${role} kept: other roles are its members';
      else
        drop role ${role};
      end if;
    exception when dependent_objects_still_exist then
      raise notice 'role ${role} kept: another database still uses it';
    when undefined_object then
      null; -- already dropped by another database's migration
    when internal_error then
      -- "tuple concurrently deleted": another database dropped it first.
      if exists (select from pg_roles where rolname = '${role}') then
        raise;
      end if;
    end $$`);
}

/**
 * Run role DDL in a migration's `up` (creating roles if missing, then granting to them) so that
 * other databases migrating at the same time cannot fail it: roles are cluster-wide, and a role
 * created or dropped by another database's migration between two statements makes the whole
 * block run again (up to 5 times, 50 ms apart, then the error).
 *
 * @param sql The migration's connection.
 * @param statements PL/pgSQL statements, each ending in `;` (no `$$` in them).
 */
export async function withRoleRetry(
  sql: postgres.Sql | postgres.TransactionSql | postgres.ReservedSql,
  statements: string,
): Promise<void> {
  await sql.unsafe(`
    do $$
    declare
      attempt integer := 0;
    begin
      loop
        begin
          ${statements}
          exit;
        exception when duplicate_object or unique_violation or undefined_object then
          attempt := attempt + 1;
          if attempt >= 5 then
            raise;
          end if;
          perform pg_sleep(0.05 * attempt);
        end;
      end loop;
    end $$`);
}
