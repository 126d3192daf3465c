import assert from "node:assert/strict";
import fc from "fast-check";
import { isCapability } from "../../src/vocabulary.ts";
import { ValidationError } from "../../src/errors.ts";
import type { KernelEvent } from "../../src/kernel_api.ts";
import type { PostgresKernelEmitter } from "../../src/postgres_kernel_emitter.ts";
import { computeContentHash } from "../../src/idempotency.ts";
import { idempotencyKey } from "../_helpers.ts";
import { openTestDatabase } from "../_pg.ts";
import { addTenant, countRows, emitterFor } from "./_emitter_db.ts";

type Args = Record<string, unknown> & { idempotency_key: Record<string, unknown> };
type Kind = KernelEvent["kind"];
type Mutation = fc.Arbitrary<(args: Args) => unknown>;

const METHOD = {
  telemetry: "emitTelemetry",
  governance: "emitGovernance",
  llm_call: "recordLlmCall",
  connector_call: "recordConnectorCall",
} as const;

/** Fields that must be present (defaults and optional fields excluded). */
const REQUIRED: Record<Kind, readonly string[]> = {
  telemetry: ["event_type", "span_id", "capability", "idempotency_key"],
  governance: ["governance_event_type", "span_id", "idempotency_key"],
  llm_call: [
    "span_id",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "pricing_version",
    "cost_status",
    "idempotency_key",
  ],
  connector_call: [
    "span_id",
    "connector_id",
    "capability",
    "pricing_version",
    "cost_status",
    "idempotency_key",
  ],
};

const KEY_FIELDS = ["tenant_id", "trace_id", "span_id", "event_type", "content_hash"];
const identifier = fc.string({ unit: fc.constantFrom(..."abcdef0123456789.-_:"), minLength: 1 })
  .filter((id) => id.length <= 128);
/** Wrong for every field: no field takes a boolean, null, an array or a plain object here. */
const wrongType = fc.oneof(
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.object({ maxDepth: 1 }),
);
const badIdentifier = fc.oneof(
  fc.constant(""),
  fc.constant("x".repeat(129)),
  identifier.map((id) => `${id} ${id}`),
  identifier.map((id) => `${id}é`),
  fc.integer(),
  wrongType,
);
const nonJson = fc.constantFrom<unknown>(
  NaN,
  Infinity,
  -Infinity,
  10n,
  undefined,
  new Date(0),
  new Map(),
  () => 1,
  Symbol("s"),
  "\ud800",
);

/** Valid arguments of `kind` for `tenantId` (each on its own trace, so they never collide). */
function validArgs(kind: Kind, tenantId: string): fc.Arbitrary<Args> {
  const trace = fc.uuid().map((uuid) => uuid.replaceAll("-", ""));
  const key = (traceId: string, spanId: string, eventType: string, content: unknown) => ({
    ...idempotencyKey(tenantId, { traceId, spanId, eventType, content }),
  });
  const payload = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), {
    maxKeys: 4,
  });
  const cost = fc.constantFrom(
    { pricing_version: "litellm-live", cost_status: "calculated", cost_eur: 0.5 },
    { pricing_version: "overrides-static", cost_status: "pending" },
    { pricing_version: "unavailable", cost_status: "unavailable", cost_eur: null },
  );
  switch (kind) {
    case "telemetry":
      return fc.tuple(trace, identifier, identifier, payload).map(([t, span, type, body]) => ({
        event_type: type,
        span_id: span,
        capability: "read.parts",
        payload: body,
        idempotency_key: key(t, span, type, body),
      }));
    case "governance":
      return fc.tuple(trace, identifier, identifier, payload).map(([t, span, type, body]) => ({
        governance_event_type: type,
        span_id: span,
        payload: body,
        idempotency_key: key(t, span, type, body),
      }));
    case "llm_call":
      return fc.tuple(trace, identifier, identifier, fc.nat(), fc.nat(), cost).map((
        [t, span, model, prompt, completion, price],
      ) => ({
        span_id: span,
        model,
        prompt_tokens: prompt,
        completion_tokens: completion,
        ...price,
        idempotency_key: key(t, span, "llm.call", { model, prompt, completion }),
      }));
    case "connector_call":
      return fc.tuple(trace, identifier, identifier, payload, cost).map((
        [t, span, connector, envelope, price],
      ) => ({
        span_id: span,
        connector_id: connector,
        capability: "read.parts",
        envelope,
        ...price,
        idempotency_key: key(t, span, "connector.call", envelope),
      }));
  }
}

/** Changes that make any valid arguments of `kind` invalid. */
function mutations(kind: Kind, tenantId: string): Mutation {
  const required = REQUIRED[kind];
  const fields = [...required, "payload", "envelope", "cost_eur"];
  const set = (field: string, value: unknown) => (args: Args) => ({ ...args, [field]: value });
  const setKey = (field: string, value: unknown) => (args: Args) => ({
    ...args,
    idempotency_key: { ...args.idempotency_key, [field]: value },
  });
  const all: Mutation[] = [
    fc.string().filter((name) => !fields.includes(name)).map((name) => set(name, 1)),
    fc.constantFrom(...required).map((field) => (args: Args) => {
      const { [field]: _, ...rest } = args;
      return rest;
    }),
    fc.tuple(fc.constantFrom(...required.filter((f) => f !== "idempotency_key")), wrongType)
      .map(([field, value]) => set(field, value)),
    badIdentifier.map((value) => set("span_id", value)),
    fc.tuple(fc.constantFrom(...KEY_FIELDS), badIdentifier).map(([field, value]) =>
      setKey(field, value)
    ),
    fc.constant((args: Args) => setKey("span_id", `${args.span_id}x`)(args)),
    fc.uuid().filter((other) => other.toLowerCase() !== tenantId).map((other) =>
      setKey("tenant_id", other)
    ),
    fc.string().filter((name) => !KEY_FIELDS.includes(name)).map((name) => setKey(name, "x")),
    fc.anything().filter((value) =>
      typeof value !== "object" || value === null || Array.isArray(value)
    )
      .map((value) => () => value),
  ];
  if (kind === "telemetry" || kind === "connector_call") {
    all.push(
      fc.string().filter((tag) => !isCapability(tag)).map((tag) => set("capability", tag)),
    );
  }
  if (kind === "telemetry" || kind === "governance") {
    all.push(nonJson.map((value) => set("payload", { value })));
    all.push(fc.constantFrom<unknown>([], "text", null, 3).map((value) => set("payload", value)));
  }
  if (kind === "connector_call") all.push(nonJson.map((value) => set("envelope", { value })));
  if (kind === "llm_call") {
    all.push(
      fc.tuple(
        fc.constantFrom("prompt_tokens", "completion_tokens"),
        fc.oneof(fc.integer({ max: -1 }), fc.double({ noInteger: true }), fc.constant("12")),
      ).map(([field, value]) => set(field, value)),
    );
  }
  if (kind === "llm_call" || kind === "connector_call") {
    all.push(
      fc.constantFrom(
        { pricing_version: "litellm-live", cost_status: "calculated", cost_eur: null },
        { pricing_version: "litellm-live", cost_status: "pending", cost_eur: 1 },
        { pricing_version: "litellm-live", cost_status: "unavailable" },
        { pricing_version: "unavailable", cost_status: "pending" },
        { pricing_version: "free", cost_status: "pending" },
        { pricing_version: "litellm-live", cost_status: "calculated", cost_eur: -1 },
      ).map((cost) => (args: Args) => ({ ...args, cost_eur: undefined, ...cost })),
    );
  }
  return fc.oneof(...all);
}

function invalidEvent(tenantId: string): fc.Arbitrary<{ kind: Kind; args: unknown }> {
  return fc.constantFrom<Kind>("telemetry", "governance", "llm_call", "connector_call").chain(
    (kind) =>
      fc.tuple(validArgs(kind, tenantId), mutations(kind, tenantId)).map(([args, mutate]) => ({
        kind,
        args: mutate(args),
      })),
  );
}

function emit(emitter: PostgresKernelEmitter, kind: Kind, args: unknown): Promise<void> {
  return (emitter[METHOD[kind]] as (args: unknown) => Promise<void>).call(emitter, args);
}

async function totalRows(db: Parameters<typeof countRows>[0], tenantId: string) {
  const tables = ["telemetry_events", "llm_calls", "connector_calls", "pricing_snapshots"] as const;
  const counts = await Promise.all(tables.map((table) => countRows(db, table, tenantId)));
  return counts.reduce((sum, n) => sum + n, 0);
}

Deno.test("PostgresKernelEmitter refuses 10,000 generated invalid argument sets; 0 rows", async (t) => {
  await using db = await openTestDatabase();
  const tenantId = await addTenant(db);
  const emitter = emitterFor(db, tenantId);

  await t.step("the generated arguments are valid before they are broken", async () => {
    let emitted = 0;
    for (const kind of Object.keys(METHOD) as Kind[]) {
      for (const args of fc.sample(validArgs(kind, tenantId), { numRuns: 100 })) {
        await emit(emitter, kind, args);
        emitted++;
      }
    }
    assert.ok(emitted === 400 && await totalRows(db, tenantId) > 0);
  });

  const before = await totalRows(db, tenantId);
  await t.step("each single method throws ValidationError", async () => {
    await fc.assert(
      fc.asyncProperty(invalidEvent(tenantId), async ({ kind, args }) => {
        await assert.rejects(emit(emitter, kind, args), ValidationError);
      }),
      { numRuns: 10_000 },
    );
  });

  await t.step("emitMany() refuses a batch holding one invalid event", async () => {
    const valid = fc.constantFrom<Kind>("telemetry", "llm_call").chain((kind) =>
      validArgs(kind, tenantId).map((args) => ({ kind, args }))
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(valid, { maxLength: 5 }),
        invalidEvent(tenantId),
        fc.nat(),
        async (events, bad, at) => {
          const batch: unknown[] = [...events];
          batch.splice(at % (events.length + 1), 0, bad);
          await assert.rejects(emitter.emitMany(batch as KernelEvent[]), ValidationError);
        },
      ),
      { numRuns: 500 },
    );
  });
  assert.equal(await totalRows(db, tenantId), before);
});

/** A payload nested `depth` levels, its innermost object holding `key`. */
function nested(depth: number, key: string): Record<string, unknown> {
  let value: Record<string, unknown> = JSON.parse(`{${JSON.stringify(key)}: 1}`);
  for (let i = 1; i < depth; i++) value = i % 2 ? { a: [value] } : { o: value };
  return value;
}

Deno.test("PostgresKernelEmitter: no raw driver error for any payload depth, key name or cost validation accepts", async () => {
  await using db = await openTestDatabase();
  const tenantId = await addTenant(db);
  const emitter = emitterFor(db, tenantId);
  const keyName = fc.oneof(
    fc.constantFrom("__proto__", "constructor", "prototype", "toString", "", "\u{1F600}"),
    fc.string({ maxLength: 8 }),
  );
  const cost = fc.oneof(
    fc.double({ min: 0, max: 2e10, noNaN: true }),
    fc.tuple(fc.integer({ min: 0, max: 10 ** 11 }), fc.nat(14)).map(([n, d]) => n / 10 ** d),
    fc.constantFrom(1e10, 9999999999.999998, 1e-10, 1e-11, 0.1 + 0.2, 5e-324),
  );
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 1100 }),
      keyName,
      cost,
      async (depth, key, cost_eur) => {
        const traceId = crypto.randomUUID().replaceAll("-", "");
        const payload = nested(depth, key);
        const writes = [
          () =>
            emitter.emitTelemetry({
              event_type: "fuzz",
              span_id: "s",
              capability: "read.parts",
              payload,
              idempotency_key: idempotencyKey(tenantId, {
                traceId,
                spanId: "s",
                eventType: "fuzz",
                content: payload,
              }),
            }),
          () =>
            emitter.recordLlmCall({
              span_id: "l",
              model: "m",
              prompt_tokens: 1,
              completion_tokens: 1,
              pricing_version: "litellm-live",
              cost_status: "calculated",
              cost_eur,
              idempotency_key: idempotencyKey(tenantId, {
                traceId,
                spanId: "l",
                eventType: "llm",
                content: { cost_eur },
              }),
            }),
        ];
        for (const write of writes) {
          try {
            await write();
            accepted++;
          } catch (error) {
            assert.ok(error instanceof ValidationError, `raw error: ${error}`);
          }
        }
      },
    ),
    { numRuns: db.embedded ? 150 : 300 },
  );
  assert.ok(accepted > 0);
  // What was accepted was stored exactly: every stored payload still matches its hash.
  const rows = await db.sql`
    select payload::text as payload, content_hash from telemetry_events
    where tenant_id = ${tenantId} and event_type = 'fuzz'`;
  for (const row of rows) {
    assert.equal(computeContentHash(JSON.parse(row.payload)), row.content_hash);
  }
});
