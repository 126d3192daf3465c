/**
 * Every revision of the schema, oldest first. The migration runner knows them by these static
 * imports (it never reads this directory), so it runs from any install: a checkout, a remote
 * `jsr:` or `https:` import, the npm package. A new revision is a new file here plus its line
 * below; tests/pg/migrate_test.ts fails when this list and the directory disagree.
 *
 * @module
 */
export * as "0001_tenants_runs" from "./0001_tenants_runs.ts";
export * as "0002_telemetry_events" from "./0002_telemetry_events.ts";
export * as "0003_llm_calls" from "./0003_llm_calls.ts";
export * as "0004_connector_calls" from "./0004_connector_calls.ts";
export * as "0005_artifacts" from "./0005_artifacts.ts";
export * as "0006_append_only_triggers" from "./0006_append_only_triggers.ts";
export * as "0007_mcrc_v1_view" from "./0007_mcrc_v1_view.ts";
export * as "0008_roles" from "./0008_roles.ts";
export * as "0009_row_level_security" from "./0009_row_level_security.ts";
export * as "0010_logical_unique" from "./0010_logical_unique.ts";
export * as "0011_pricing_snapshots" from "./0011_pricing_snapshots.ts";
export * as "0012_migrator_privileges" from "./0012_migrator_privileges.ts";
export * as "0013_hardening" from "./0013_hardening.ts";
export * as "0014_tenant_admin" from "./0014_tenant_admin.ts";
export * as "0015_pricing_provenance" from "./0015_pricing_provenance.ts";
export * as "0016_event_storage" from "./0016_event_storage.ts";
export * as "0017_citus_distribution" from "./0017_citus_distribution.ts";
export * as "0018_inline_tenant" from "./0018_inline_tenant.ts";
export * as "0019_event_primary_key" from "./0019_event_primary_key.ts";
