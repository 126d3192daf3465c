/**
 * The shared vocabulary: the words every contract, table and product line uses for the same
 * things — capability tags, where a cost comes from and where it stands, how far a result has
 * been checked, who acted. Each set is written here once and imported by the schemas, the
 * argument and row types and the middleware.
 *
 * @module
 */

/**
 * The built-in capabilities every product line may use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Capability } from "./vocabulary.ts";
 *
 * assert.equal(Capability.ReadParts, "read.parts");
 * ```
 */
export const Capability: {
  readonly ReadParts: "read.parts";
  readonly WriteParts: "write.parts";
  readonly ReadBom: "read.bom";
  readonly WriteBom: "write.bom";
  readonly ReadDocuments: "read.documents";
  readonly WriteDocuments: "write.documents";
  readonly KnowledgeSearch: "knowledge.search";
  readonly KnowledgeIngest: "knowledge.ingest";
  readonly LlmCall: "llm.call";
  readonly ConnectorCall: "connector.call";
  readonly HitlApprove: "hitl.approve";
  readonly ArtifactRead: "artifact.read";
  readonly ArtifactWrite: "artifact.write";
} = Object.freeze(
  {
    ReadParts: "read.parts",
    WriteParts: "write.parts",
    ReadBom: "read.bom",
    WriteBom: "write.bom",
    ReadDocuments: "read.documents",
    WriteDocuments: "write.documents",
    KnowledgeSearch: "knowledge.search",
    KnowledgeIngest: "knowledge.ingest",
    LlmCall: "llm.call",
    ConnectorCall: "connector.call",
    HitlApprove: "hitl.approve",
    ArtifactRead: "artifact.read",
    ArtifactWrite: "artifact.write",
  } as const,
);

/** A built-in capability tag (`"read.parts"`, ...). */
export type Capability = typeof Capability[keyof typeof Capability];

/** A capability a file may declare: a built-in one or an `x.` extension (`"x.acme.export"`). */
export type CapabilityId = Capability | `x.${string}`;

/** The pattern every capability tag matches: dotted lowercase, at least two parts. */
export const CAPABILITY_PATTERN: RegExp = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

const BUILT_IN: ReadonlySet<string> = new Set(Object.values(Capability));

/**
 * Whether `tag` is a usable capability: a built-in one, or an extension starting with `x.`
 * that matches {@link CAPABILITY_PATTERN}.
 *
 * @param tag The tag to check.
 * @returns `true` when the tag may be used.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isCapability } from "./vocabulary.ts";
 *
 * assert.equal(isCapability("read.parts"), true);
 * assert.equal(isCapability("x.acme.export"), true);
 * assert.equal(isCapability("read"), false);
 * ```
 */
export function isCapability(tag: string): tag is CapabilityId {
  return CAPABILITY_PATTERN.test(tag) && (BUILT_IN.has(tag) || tag.startsWith("x."));
}

/**
 * Where a cost comes from (the kernel API's `pricing_version`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PricingVersion } from "./vocabulary.ts";
 *
 * assert.equal(PricingVersion.LitellmLive, "litellm-live");
 * ```
 */
export const PricingVersion: {
  readonly LitellmLive: "litellm-live";
  readonly OverridesStatic: "overrides-static";
  readonly Unavailable: "unavailable";
} = Object.freeze({
  LitellmLive: "litellm-live",
  OverridesStatic: "overrides-static",
  Unavailable: "unavailable",
});

/** Where a cost comes from: `"litellm-live"`, `"overrides-static"` or `"unavailable"`. */
export type PricingVersion = typeof PricingVersion[keyof typeof PricingVersion];

/**
 * Where a cost stands (the kernel API's `cost_status`). `computeCost` gives `"calculated"` or
 * `"unavailable"`; `"pending"` is for a call recorded before its cost is known.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CostStatus } from "./vocabulary.ts";
 *
 * assert.equal(CostStatus.Calculated, "calculated");
 * ```
 */
export const CostStatus: {
  readonly Pending: "pending";
  readonly Calculated: "calculated";
  readonly Unavailable: "unavailable";
} = Object.freeze({ Pending: "pending", Calculated: "calculated", Unavailable: "unavailable" });

/** Where a cost stands: `"pending"`, `"calculated"` or `"unavailable"`. */
export type CostStatus = typeof CostStatus[keyof typeof CostStatus];

/**
 * How far a run's results or a piece of knowledge have been checked; a run's level only moves
 * forward.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { QualityLevel } from "./vocabulary.ts";
 *
 * assert.equal(QualityLevel.Released, "released");
 * ```
 */
export const QualityLevel: {
  readonly Draft: "draft";
  readonly Reviewed: "reviewed";
  readonly Validated: "validated";
  readonly Released: "released";
} = Object.freeze({
  Draft: "draft",
  Reviewed: "reviewed",
  Validated: "validated",
  Released: "released",
});

/** Quality level: `"draft"`, `"reviewed"`, `"validated"` or `"released"`. */
export type QualityLevel = typeof QualityLevel[keyof typeof QualityLevel];

/**
 * Who acted in a run (the `actor_kind` of `runs` and of the `X-PLM-Core-Caller` header).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ActorKind } from "./vocabulary.ts";
 *
 * assert.equal(ActorKind.Agent, "agent");
 * ```
 */
export const ActorKind: {
  readonly Human: "human";
  readonly Agent: "agent";
  readonly System: "system";
  readonly Connector: "connector";
} = Object.freeze({ Human: "human", Agent: "agent", System: "system", Connector: "connector" });

/** Kind of actor: `"human"`, `"agent"`, `"system"` or `"connector"`. */
export type ActorKind = typeof ActorKind[keyof typeof ActorKind];
