/**
 * Capabilities: the built-in set of capability tags and the YAML loader.
 * (Stub laid by the skeleton; the capabilities owner completes it.)
 *
 * @module
 */

/**
 * The built-in capabilities every product line may use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Capability } from "./capabilities.ts";
 *
 * assert.equal(Capability.ReadParts, "read.parts");
 * ```
 */
export const Capability = Object.freeze(
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
 * import { isCapability } from "./capabilities.ts";
 *
 * assert.equal(isCapability("read.parts"), true);
 * assert.equal(isCapability("x.acme.export"), true);
 * assert.equal(isCapability("read"), false);
 * ```
 */
export function isCapability(tag: string): tag is Capability | `x.${string}` {
  return CAPABILITY_PATTERN.test(tag) && (BUILT_IN.has(tag) || tag.startsWith("x."));
}
