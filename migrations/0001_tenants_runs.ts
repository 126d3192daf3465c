/**
 * 0001: the reference table `tenants`, `runs` (one per trace) and their enums.
 *
 * @module
 */
import type postgres from "postgres";

/** Apply the revision. */
export async function up(sql: postgres.Sql): Promise<void> {
  await sql`create type quality_level as enum ('draft', 'reviewed', 'validated', 'released')`;
  await sql`create type actor_kind as enum ('human', 'agent', 'system', 'connector')`;
  await sql`
    create table tenants (
      id uuid not null,
      name text not null,
      created_at timestamptz not null default now(),
      constraint tenants_pkey primary key (id)
    )`;
  await sql`
    create table runs (
      tenant_id uuid not null,
      id bigint generated always as identity,
      trace_id text not null,
      product_line text,
      actor_kind actor_kind not null,
      actor_id text not null,
      quality_level quality_level not null default 'draft',
      started_at timestamptz not null default now(),
      ended_at timestamptz,
      constraint runs_pkey primary key (tenant_id, id),
      constraint runs_tenant_id_trace_id_key unique (tenant_id, trace_id),
      constraint runs_tenant_id_fkey foreign key (tenant_id) references tenants (id)
    )`;
}

/** Revert the revision. */
export async function down(sql: postgres.Sql): Promise<void> {
  await sql`drop table runs`;
  await sql`drop table tenants`;
  await sql`drop type actor_kind`;
  await sql`drop type quality_level`;
}
