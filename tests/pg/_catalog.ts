/**
 * Shared by the schema tests: what the migrations left in a database, read from the catalogs.
 *
 * @module
 */
import type postgres from "postgres";

/**
 * Everything the migrations define in schema `public`, read from the catalogs, as sorted lines.
 * Nothing here is a hand-kept list of expected objects. Privileges are compared as effective
 * grants: a default ACL (NULL) equals the explicit owner-only ACL a GRANT + REVOKE leaves.
 * Columns are compared by position among live columns (a dropped column leaves a gap).
 */
export async function catalogSnapshot(sql: postgres.Sql): Promise<Record<string, string[]>> {
  const queries: Record<string, string> = {
    relations: `
      select c.relname || ' kind=' || c.relkind::text || ' rls=' || c.relrowsecurity
        || ' force=' || c.relforcerowsecurity || ' options=' || coalesce(c.reloptions::text, '')
        || ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '')
      from pg_class c where c.relnamespace = 'public'::regnamespace`,
    columns: `
      select c.relname || '.' || a.attname
        || ' #' || row_number() over (partition by c.oid order by a.attnum) || ' '
        || format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull
        || ' identity=' || a.attidentity::text || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
        || ' comment=' || coalesce(col_description(c.oid, a.attnum), '')
      from pg_attribute a join pg_class c on c.oid = a.attrelid
      left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where c.relnamespace = 'public'::regnamespace and a.attnum > 0 and not a.attisdropped`,
    constraints: `
      select conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
      from pg_constraint where connamespace = 'public'::regnamespace`,
    indexes: `select indexdef from pg_indexes where schemaname = 'public'`,
    policies: `
      select tablename || ' ' || policyname || ' ' || permissive || ' ' || roles::text || ' '
        || cmd || ' using=' || coalesce(qual, '') || ' check=' || coalesce(with_check, '')
      from pg_policies where schemaname = 'public'`,
    triggers: `
      select pg_get_triggerdef(t.oid) from pg_trigger t join pg_class c on c.oid = t.tgrelid
      where c.relnamespace = 'public'::regnamespace and not t.tgisinternal`,
    functions: `
      select pg_get_functiondef(p.oid) || ' acl='
        || coalesce(p.proacl, acldefault('f'::"char", p.proowner))::text
      from pg_proc p where p.pronamespace = 'public'::regnamespace`,
    types: `
      select t.typname || ' ' || string_agg(e.enumlabel, ',' order by e.enumsortorder)
      from pg_type t join pg_enum e on e.enumtypid = t.oid
      where t.typnamespace = 'public'::regnamespace group by t.typname`,
    views: `
      select viewname || ' ' || definition from pg_views where schemaname = 'public'`,
    tableGrants: `
      select c.relname || ' ' || a.grantee::regrole || ' ' || a.privilege_type
      from pg_class c, aclexplode(coalesce(
        c.relacl, acldefault((case c.relkind when 'S' then 's' else 'r' end)::"char", c.relowner))) a
      where c.relnamespace = 'public'::regnamespace and a.grantee <> 0`,
    schemaGrants: `
      select a.grantee::regrole || ' ' || a.privilege_type
      from pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n'::"char", n.nspowner))) a
      where n.nspname = 'public'`,
    columnGrants: `
      select c.relname || '.' || att.attname || ' ' || a.grantee::regrole || ' ' || a.privilege_type
      from pg_attribute att join pg_class c on c.oid = att.attrelid, aclexplode(att.attacl) a
      where c.relnamespace = 'public'::regnamespace and a.grantee <> 0 and not att.attisdropped`,
  };
  const snapshot: Record<string, string[]> = {};
  for (const [name, query] of Object.entries(queries)) {
    const rows = await sql.unsafe<{ line: string }[]>(`select line from (${query}) s(line)`);
    snapshot[name] = rows.map((row) => row.line).sort();
  }
  return snapshot;
}
