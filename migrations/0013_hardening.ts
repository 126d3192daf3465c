/**
 * 0013: hardening.
 *
 * - The package's roles are verified (`verifyRoles`): a pre-existing `plm_kernel_writer` or
 *   `plm_migrator` with LOGIN, SUPERUSER, CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS (the
 *   migrator excepted) or membership in another role is refused, never reset. `migrate()` runs
 *   the same check on every `up` run, so a role altered later is caught too.
 * - History is append-only for `plm_migrator` too: no UPDATE, DELETE or TRUNCATE on the event
 *   tables, no DELETE on `runs`. There is no delete path for events.
 * - The server stamps every new row's `id` (from the table's identity sequence, even under
 *   `OVERRIDING SYSTEM VALUE`) and, on the event tables, `created_at := now()`; `runs.started_at`
 *   stays the caller's (when the run started).
 * - Every function of the migrations pins `search_path`; PUBLIC may not CREATE in `public`.
 * - The cost rules hold in the schema: pricing version `unavailable` ⇔ cost status
 *   `unavailable` (which refers to no pricing snapshot); a cost exactly when `calculated`. A
 *   settlement to `unavailable` also sets `pricing_version` to `unavailable`; no other change of
 *   `pricing_version` passes `plm_guard_cost_update`.
 *
 * `down` restores revision 12, except that CREATE on `public` stays revoked from PUBLIC.
 *
 * @module
 */
import type postgres from "postgres";
import { verifyRoles } from "../src/_migrate_roles.ts";
import { COST_GUARD } from "./0006_append_only_triggers.ts";

/** Tables whose rows are events: their `created_at` is stamped too. */
export const EVENT_TABLES: readonly string[] = [
  "telemetry_events",
  "llm_calls",
  "connector_calls",
  "artifacts",
  "pricing_snapshots",
];
const CALL_TABLES = ["llm_calls", "connector_calls"];
/** The functions of revisions 0006 and 0009, pinned here (0006's cost guard is replaced). */
const PINNED = ["plm_guard_run_update()", "plm_refuse_update()", "plm_current_tenant()"];
const SEARCH_PATH = "pg_catalog, pg_temp";

/** Apply the revision. */
export async function up(sql: postgres.Sql): Promise<void> {
  await verifyRoles(sql);
  await sql`revoke create on schema public from public`;
  for (const fn of PINNED) {
    await sql.unsafe(`alter function ${fn} set search_path = ${SEARCH_PATH}`);
  }
  // A pinned function is no longer inlined: the policies call it once per statement (an
  // initplan) instead of once per row.
  await alterPolicies(sql, "(select plm_current_tenant())");

  await sql`
    revoke update, delete, truncate on telemetry_events, llm_calls, connector_calls, artifacts,
      pricing_snapshots from plm_migrator`;
  await sql`revoke delete, truncate on runs from plm_migrator`;

  await sql.unsafe(`
    create function plm_stamp_insert() returns trigger language plpgsql
      set search_path = ${SEARCH_PATH} as $$
    begin
      -- The identity default (or a caller's OVERRIDING SYSTEM VALUE) is replaced: the server
      -- alone numbers rows. tg_argv[0] is the identity sequence; a second argument stamps
      -- created_at as well.
      new.id := nextval(tg_argv[0]::regclass);
      if tg_nargs > 1 then
        new.created_at := now();
      end if;
      return new;
    end $$`);
  for (const table of ["runs", ...EVENT_TABLES]) {
    // The trigger draws with the inserting role's privileges: USAGE allows nextval only.
    await sql.unsafe(`
      do $$
      begin
        execute format('grant usage on sequence %s to plm_kernel_writer, plm_migrator',
          pg_get_serial_sequence('${table}', 'id'));
        execute format(
          'create trigger %I before insert on %I for each row execute function plm_stamp_insert(%L%s)',
          '${table}_stamp_insert', '${table}', pg_get_serial_sequence('${table}', 'id'),
          ${table === "runs" ? "''" : "', ''created_at'''"});
      end $$`);
  }

  await sql.unsafe(`
    create or replace function plm_guard_cost_update() returns trigger language plpgsql
      set search_path = ${SEARCH_PATH} as $$
    declare
      cost_columns constant text[] :=
        '{cost_status,cost_eur,pricing_snapshot_id,pricing_version}';
    begin
      if to_jsonb(new) - cost_columns <> to_jsonb(old) - cost_columns then
        raise exception
          'rows of % are append-only: only cost_status, cost_eur and pricing_snapshot_id change',
          tg_table_name
          using errcode = 'check_violation', constraint = tg_table_name || '_append_only';
      end if;
      if old.cost_status <> 'pending' or new.cost_status not in ('calculated', 'unavailable') then
        raise exception
          'cost_status moves once, from pending to calculated or unavailable, not from % to %',
          old.cost_status, new.cost_status
          using errcode = 'check_violation', constraint = tg_table_name || '_cost_status_once';
      end if;
      if new.pricing_version <> old.pricing_version
          and not (new.cost_status = 'unavailable' and new.pricing_version = 'unavailable') then
        raise exception
          'pricing_version changes only to unavailable, when the cost settles as unavailable'
          using errcode = 'check_violation',
            constraint = tg_table_name || '_pricing_version_settled';
      end if;
      return new;
    end $$`);
  for (const table of CALL_TABLES) {
    await sql.unsafe(`
      alter table ${table} drop constraint ${table}_cost_eur_status_check,
        add constraint ${table}_cost_eur_status_check
          check ((cost_status = 'calculated') = (cost_eur is not null)),
        add constraint ${table}_pricing_version_status_check
          check ((pricing_version = 'unavailable') = (cost_status = 'unavailable')),
        add constraint ${table}_pricing_snapshot_unavailable_check
          check (pricing_version <> 'unavailable' or pricing_snapshot_id is null)`);
    await sql.unsafe(`grant update (pricing_version) on ${table} to plm_kernel_writer`);
  }
}

/** Revert the revision (CREATE on `public` stays revoked from PUBLIC). */
export async function down(sql: postgres.Sql): Promise<void> {
  for (const table of CALL_TABLES) {
    await sql.unsafe(`revoke update (pricing_version) on ${table} from plm_kernel_writer`);
    // One ADD CONSTRAINT per statement: Citus refuses it beside other subcommands.
    await sql.unsafe(`
      alter table ${table} drop constraint ${table}_pricing_snapshot_unavailable_check,
        drop constraint ${table}_pricing_version_status_check,
        drop constraint ${table}_cost_eur_status_check`);
    await sql.unsafe(`
      alter table ${table} add constraint ${table}_cost_eur_status_check check (
          (cost_status <> 'calculated' or cost_eur is not null)
          and (cost_status <> 'unavailable' or cost_eur is null))`);
  }
  // 0006's definition, unpinned as it was.
  await sql.unsafe(COST_GUARD.replace("create function", "create or replace function"));

  for (const table of ["runs", ...EVENT_TABLES]) {
    await sql`drop trigger ${sql(`${table}_stamp_insert`)} on ${sql(table)}`;
    await sql.unsafe(`
      do $$
      begin
        execute format('revoke usage on sequence %s from plm_kernel_writer, plm_migrator',
          pg_get_serial_sequence('${table}', 'id'));
      end $$`);
  }
  await sql`drop function plm_stamp_insert()`;

  await sql`
    grant update, delete on telemetry_events, llm_calls, connector_calls, artifacts,
      pricing_snapshots to plm_migrator`;
  await sql`grant delete on runs to plm_migrator`;
  for (const fn of PINNED) await sql.unsafe(`alter function ${fn} reset search_path`);
  await alterPolicies(sql, "plm_current_tenant()");
}

/** Point the row level security policies of 0009 and 0011 at `tenant` (an SQL expression). */
async function alterPolicies(sql: postgres.Sql, tenant: string): Promise<void> {
  for (const table of ["tenants", "runs", ...EVENT_TABLES]) {
    const column = table === "tenants" ? "id" : "tenant_id";
    await sql.unsafe(`
      alter policy ${table}_tenant_isolation on ${table}
        using (${column} = ${tenant}) with check (${column} = ${tenant})`);
  }
}
