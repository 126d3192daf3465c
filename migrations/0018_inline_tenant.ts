/**
 * 0018: `plm_current_tenant()` costs next to nothing per statement. 0013 pinned its
 * `search_path`, which keeps PostgreSQL from inlining it: every statement under row-level
 * security then runs it through the function manager, setting and restoring `search_path` and
 * planning its body again (about 10 µs per policy, two policies per emit). Here its body becomes
 * a SQL-standard one (`RETURN`), bound when the function is created: every name in it is
 * resolved then and stored as references, so no caller's `search_path` can redirect it, and
 * PostgreSQL inlines it into the policies' initplan. Its behaviour is unchanged: the setting's
 * UUID, or `null` (no row) when it is unset, empty or not a UUID.
 *
 * On Citus nothing changes: Citus evaluates each function call of an inlined expression on its
 * own, so the cast of a malformed setting would fail (22P02) where one server matches no row
 * (see 0017). `down` restores the pinned function of 0013 (0009's body).
 *
 * @module
 */
import type postgres from "postgres";
import { isCitus } from "../src/_postgres_citus.ts";
import { CURRENT_TENANT, UUID_PATTERN } from "./0009_row_level_security.ts";

const SETTING = "pg_catalog.current_setting('app.tenant_id', true)";
const TENANT = `
  case
    when ${SETTING} operator(pg_catalog.~*) '${UUID_PATTERN}'
    then ${SETTING}::pg_catalog.uuid
  end`;

/** Apply the revision. */
export async function up(sql: postgres.Sql): Promise<void> {
  if (await isCitus(sql)) return;
  await sql.unsafe(`
    create or replace function plm_current_tenant() returns uuid
      language sql stable parallel safe
      return ${TENANT}`);
}

/** Revert the revision. */
export async function down(sql: postgres.Sql): Promise<void> {
  if (await isCitus(sql)) return;
  await sql.unsafe(`
    create or replace function plm_current_tenant() returns uuid
      language sql stable parallel safe set search_path = pg_catalog, pg_temp
      as $$${CURRENT_TENANT}$$`);
}
