/**
 * 0009: row level security, enabled and forced on the tenant-scoped tables (and on `tenants`,
 * by its `id`). A row is visible and writable only when its tenant equals
 * `current_setting('app.tenant_id', true)`. Fail closed: an unset or empty setting, or one that
 * is not a UUID, matches no row and raises no error (`plm_current_tenant()` checks the text
 * before casting). `plm_migrator` gets BYPASSRLS.
 *
 * `down` keeps `plm_migrator`'s BYPASSRLS: the attribute is cluster-wide and other databases may
 * rely on it; the role goes with 0008's `down` when nothing uses it.
 *
 * @module
 */
import type postgres from "postgres";

/** Tables whose rows carry `tenant_id` and the policies of this revision. */
const TABLES = ["runs", "telemetry_events", "llm_calls", "connector_calls", "artifacts"];

/** What `plm_current_tenant()` takes for a UUID (matched case-insensitively) before casting. */
export const UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

/** The body of `plm_current_tenant()` (0018's `down` restores it). */
export const CURRENT_TENANT = `
        select case
          when current_setting('app.tenant_id', true)
            ~* '${UUID_PATTERN}'
          then current_setting('app.tenant_id', true)::uuid
        end
      `;

/** Apply the revision. */
export async function up(sql: postgres.Sql): Promise<void> {
  await sql.unsafe(`
    create function plm_current_tenant() returns uuid
      language sql stable parallel safe
      as $$${CURRENT_TENANT}$$`);
  // 0008 creates the role with BYPASSRLS; a role made otherwise gets it here. The check keeps
  // concurrent migrations of other databases from updating the shared role row at once.
  await sql`
    do $$
    begin
      if not (select rolbypassrls from pg_roles where rolname = 'plm_migrator') then
        alter role plm_migrator bypassrls;
      end if;
    end $$`;
  await sql`alter table tenants enable row level security`;
  await sql`alter table tenants force row level security`;
  await sql`
    create policy tenants_tenant_isolation on tenants
      using (id = plm_current_tenant()) with check (id = plm_current_tenant())`;
  for (const table of TABLES) {
    await sql`alter table ${sql(table)} enable row level security`;
    await sql`alter table ${sql(table)} force row level security`;
    await sql`
      create policy ${sql(`${table}_tenant_isolation`)} on ${sql(table)}
        using (tenant_id = plm_current_tenant()) with check (tenant_id = plm_current_tenant())`;
  }
}

/** Revert the revision. */
export async function down(sql: postgres.Sql): Promise<void> {
  for (const table of ["tenants", ...TABLES]) {
    await sql`drop policy ${sql(`${table}_tenant_isolation`)} on ${sql(table)}`;
    await sql`alter table ${sql(table)} no force row level security`;
    await sql`alter table ${sql(table)} disable row level security`;
  }
  await sql`drop function plm_current_tenant()`;
}
