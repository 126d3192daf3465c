/**
 * 0005: `artifacts`, the records of stored files (the bytes live in the artifact store).
 *
 * @module
 */
import type postgres from "postgres";

/** Apply the revision. */
export async function up(sql: postgres.Sql): Promise<void> {
  await sql`
    create table artifacts (
      tenant_id uuid not null,
      id bigint generated always as identity,
      trace_id text,
      storage_uri text not null,
      sha256 text not null,
      size_bytes bigint not null,
      content_type text not null,
      retention_until timestamptz,
      created_at timestamptz not null default now(),
      constraint artifacts_pkey primary key (tenant_id, id),
      constraint artifacts_tenant_id_fkey foreign key (tenant_id) references tenants (id),
      constraint artifacts_sha256_check check (sha256 ~ '^[0-9a-f]{64}$'),
      constraint artifacts_size_bytes_check check (size_bytes >= 0)
    )`;
  await sql`create index artifacts_tenant_trace_idx on artifacts (tenant_id, trace_id)`;
}

/** Revert the revision. */
export async function down(sql: postgres.Sql): Promise<void> {
  await sql`drop table artifacts`;
}
