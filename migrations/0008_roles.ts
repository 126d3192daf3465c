/**
 * 0008: the roles. `plm_kernel_writer` (NOLOGIN) may read the tables and the view, insert
 * events, runs and artifacts, and update only the columns the triggers of 0006 let move; it
 * never has DELETE or TRUNCATE. `plm_migrator` (NOLOGIN, BYPASSRLS as 0009 needs it; created
 * with it so that no migration alters a role another database may alter at the same time) gets
 * its table privileges in 0012.
 *
 * Roles are cluster-wide: they are created only if missing (a concurrent creation or drop by
 * another database's migration is retried). Both roles get USAGE on schema `public`, so every
 * database at this revision or later holds a privilege for each of them and no other
 * database's `down` can drop them. `down` revokes this database's privileges and drops a role
 * only when no role is its member and no other database holds privileges for it.
 *
 * @module
 */
import type postgres from "postgres";
import { dropRoleIfUnused, withRoleRetry } from "../src/_migrate_roles.ts";

/** Apply the revision. */
export async function up(sql: postgres.Sql): Promise<void> {
  // The grants run in the same block as the creation: a role dropped by another database's
  // `down` between the two makes the block retry instead of failing.
  await withRoleRetry(
    sql,
    `
    if not exists (select from pg_roles where rolname = 'plm_kernel_writer') then
      create role plm_kernel_writer nologin;
    end if;
    if not exists (select from pg_roles where rolname = 'plm_migrator') then
      create role plm_migrator nologin bypassrls;
    end if;
    grant usage on schema public to plm_kernel_writer, plm_migrator;
    grant select on tenants, mcrc_v1_view to plm_kernel_writer;
    grant select, insert on runs, telemetry_events, llm_calls, connector_calls, artifacts
      to plm_kernel_writer;
    grant update (quality_level, ended_at) on runs to plm_kernel_writer;
    grant update (cost_status, cost_eur) on llm_calls, connector_calls to plm_kernel_writer;
  `,
  );
}

/** Revert the revision. */
export async function down(sql: postgres.Sql): Promise<void> {
  await sql`
    revoke all on tenants, mcrc_v1_view, runs, telemetry_events, llm_calls, connector_calls,
      artifacts from plm_kernel_writer`;
  await sql`revoke usage on schema public from plm_kernel_writer, plm_migrator`;
  for (const role of ["plm_kernel_writer", "plm_migrator"]) await dropRoleIfUnused(sql, role);
}
