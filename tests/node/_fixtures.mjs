// Shared by the Node smoke suites: one tenant, trace and span, and valid LLM-call arguments
// built (and keyed) by the installed package's event builder.
import * as plm from "@tracepulse/plm-shared";

export const TENANT = "0b8f8c1e-1c0a-4d4e-9c1a-3f2b1a0c9d8e";
export const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
export const SPAN = "00f067aa0ba902b7";

/** Valid `recordLlmCall` arguments; `overrides` change fields before the key is derived. */
export function llmCall(overrides = {}) {
  return plm.llmCallEvent({
    tenant_id: TENANT,
    trace_id: TRACE,
    span_id: SPAN,
    model: "gpt-4o",
    prompt_tokens: 1000,
    completion_tokens: 100,
    pricing_version: "litellm-live",
    cost_eur: 0.00322,
    cost_status: "calculated",
    ...overrides,
  });
}
