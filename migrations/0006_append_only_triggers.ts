/**
 * 0006: the history cannot be rewritten. `runs.quality_level` only moves forward and
 * `runs.ended_at` is set once; event rows are immutable except the one cost transition of
 * `llm_calls` and `connector_calls` (`cost_status` pending → calculated | unavailable, with
 * `cost_eur` and `pricing_snapshot_id`). The triggers bind every role, owner included; each
 * refusal is SQLSTATE 23514 (check_violation) with a constraint name saying which rule.
 *
 * @module
 */
import type postgres from "postgres";

/**
 * The cost guard as this revision defines it (0013 replaces it and its `down` restores this).
 */
export const COST_GUARD: string = `
    create function plm_guard_cost_update() returns trigger language plpgsql as $$
    declare
      cost_columns constant text[] := '{cost_status,cost_eur,pricing_snapshot_id}';
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
      return new;
    end $$`;

/** Apply the revision. */
export async function up(sql: postgres.Sql): Promise<void> {
  await sql`
    create function plm_guard_run_update() returns trigger language plpgsql as $$
    begin
      if new.quality_level < old.quality_level then
        raise exception 'quality_level of a run only moves forward, not from % to %',
          old.quality_level, new.quality_level
          using errcode = 'check_violation', constraint = 'runs_quality_level_forward';
      end if;
      if old.ended_at is not null and new.ended_at is distinct from old.ended_at then
        raise exception 'ended_at of a run is set once'
          using errcode = 'check_violation', constraint = 'runs_ended_at_once';
      end if;
      if to_jsonb(new) - '{quality_level,ended_at}'::text[]
          <> to_jsonb(old) - '{quality_level,ended_at}'::text[] then
        raise exception 'only quality_level and ended_at of a run may change'
          using errcode = 'check_violation', constraint = 'runs_immutable';
      end if;
      return new;
    end $$`;
  await sql`
    create function plm_refuse_update() returns trigger language plpgsql as $$
    begin
      raise exception 'rows of % are append-only', tg_table_name
        using errcode = 'check_violation', constraint = tg_table_name || '_append_only';
    end $$`;
  await sql.unsafe(COST_GUARD);
  await sql`
    create trigger runs_guard_update before update on runs
      for each row execute function plm_guard_run_update()`;
  for (const table of ["telemetry_events", "artifacts"]) {
    await sql`
      create trigger ${sql(`${table}_refuse_update`)} before update on ${sql(table)}
        for each row execute function plm_refuse_update()`;
  }
  for (const table of ["llm_calls", "connector_calls"]) {
    await sql`
      create trigger ${sql(`${table}_guard_update`)} before update on ${sql(table)}
        for each row execute function plm_guard_cost_update()`;
  }
}

/** Revert the revision. */
export async function down(sql: postgres.Sql): Promise<void> {
  await sql`drop trigger runs_guard_update on runs`;
  for (const table of ["telemetry_events", "artifacts"]) {
    await sql`drop trigger ${sql(`${table}_refuse_update`)} on ${sql(table)}`;
  }
  for (const table of ["llm_calls", "connector_calls"]) {
    await sql`drop trigger ${sql(`${table}_guard_update`)} on ${sql(table)}`;
  }
  await sql`drop function plm_guard_cost_update()`;
  await sql`drop function plm_refuse_update()`;
  await sql`drop function plm_guard_run_update()`;
}
