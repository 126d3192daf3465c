import assert from "node:assert/strict";
import {
  ActorKind,
  Capability,
  CostStatus,
  isCapability,
  PricingVersion,
  QualityLevel,
} from "../src/vocabulary.ts";

Deno.test("isCapability() accepts built-in and x. tags only", () => {
  for (const tag of Object.values(Capability)) assert.equal(isCapability(tag), true, tag);
  assert.equal(isCapability("x.acme.export"), true);
  assert.equal(isCapability("acme.export"), false);
  assert.equal(isCapability("x"), false);
  assert.equal(isCapability("Read.parts"), false);
  assert.equal(isCapability("read.parts."), false);
});

Deno.test("the vocabulary's value sets are frozen", () => {
  for (const vocabulary of [Capability, PricingVersion, CostStatus, QualityLevel, ActorKind]) {
    assert.ok(Object.isFrozen(vocabulary));
  }
});
