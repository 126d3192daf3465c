import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { Hono } from "hono";
import { cors } from "hono/cors";
import { ValidationError } from "../src/errors.ts";
import { corsAllowedHeaders, parseCoreCaller, plmTenantMiddleware } from "../src/middleware.ts";
import { currentTenant, requireTenant } from "../src/tenant_context.ts";
import { currentTraceContext, requireTraceContext } from "../src/trace_context.ts";

const TENANT = "0b9c2f4e-6a1d-4c3e-9f7a-2d5b8e1c4a60";
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";
const TRACEPARENT = `00-${TRACE}-${PARENT}-01`;
const CALLER = "workbench; actor=human:u-42";
const PROBLEM_TYPE = "https://jsr.io/@tracepulse/plm-shared/doc/~/plmTenantMiddleware#";

/** What the echo handler saw inside the middleware. */
interface Seen {
  tenant: string | null;
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  traceState: [string, string][];
  caller: unknown;
  marker: string | null;
}

/** A handler that waits a random few milliseconds, then echoes its context as JSON. */
async function echo(request: Request): Promise<Response> {
  await delay(Math.floor(Math.random() * 5));
  const trace = requireTraceContext();
  const caller = request.headers.get("x-plm-core-caller");
  const seen: Seen = {
    tenant: currentTenant() ?? null,
    traceId: trace.traceId,
    spanId: trace.spanId,
    parentSpanId: trace.parentSpanId ?? null,
    traceState: trace.traceState.map(([k, v]) => [k, v]),
    caller: caller === null ? null : parseCoreCaller(caller),
    marker: request.headers.get("x-marker"),
  };
  return Response.json(seen);
}

function get(path: string, headers: Record<string, string> = {}): Request {
  return new Request(`http://localhost${path}`, { headers });
}

/** Assert a 400 problem+json of `type` that carries a traceparent; returns the body. */
async function assertProblem(response: Response, type: string): Promise<Record<string, unknown>> {
  assert.equal(response.status, 400);
  assert.equal(response.headers.get("content-type"), "application/problem+json");
  assert.match(response.headers.get("traceparent") ?? "", /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  const body = await response.json();
  assert.deepEqual(Object.keys(body).sort(), ["detail", "status", "title", "type"]);
  assert.equal(body.type, PROBLEM_TYPE + type);
  assert.equal(body.status, 400);
  return body;
}

/** A middleware whose handler records that it ran. */
function counting(options?: Parameters<typeof plmTenantMiddleware>[1]) {
  const calls: Request[] = [];
  const handler = plmTenantMiddleware((request: Request) => {
    calls.push(request);
    return echo(request);
  }, options);
  return { handler, calls };
}

/** Serve `handler` on a random loopback port for the duration of `fn`. */
async function serve(
  handler: Deno.ServeHandler,
  fn: (base: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

Deno.test("parseCoreCaller() reads '<product-line>; actor=<kind>:<actor-id>'", async (t) => {
  await t.step("each actor kind, with optional SP/HTAB", () => {
    for (const kind of ["human", "agent", "system", "connector"] as const) {
      assert.deepEqual(parseCoreCaller(`skill-kernel; actor=${kind}:a.b_c@d:e-1`), {
        productLine: "skill-kernel",
        actorKind: kind,
        actorId: "a.b_c@d:e-1",
      });
    }
    assert.equal(parseCoreCaller(" \tworkbench \t;\t actor=human:u-42\t ").actorId, "u-42");
    assert.equal(parseCoreCaller("workbench;actor=human:u-42").productLine, "workbench");
    assert.ok(Object.isFrozen(parseCoreCaller(CALLER)));
  });
  await t.step("malformed values throw a ValidationError naming the part", () => {
    const cases: [string, string][] = [
      ["", ""],
      ["workbench", ""],
      ["workbench actor=human:u-42", ""],
      ["workbench; actor=human", ""],
      ["workbench; Actor=human:u-42", ""],
      ["workbench; actor = human:u-42", ""],
      ["; actor=human:u-42", "productLine"],
      ["Workbench; actor=human:u-42", "productLine"],
      ["work bench; actor=human:u-42", "productLine"],
      ["9lives; actor=human:u-42", "productLine"],
      [`${"w".repeat(64)}; actor=human:u-42`, "productLine"],
      ["workbench; actor=robot:u-42", "actorKind"],
      ["workbench; actor=Human:u-42", "actorKind"],
      ["workbench; actor=human:", "actorId"],
      ["workbench; actor=human:u 42", "actorId"],
      [`workbench; actor=human:${"x".repeat(129)}`, "actorId"],
      ["workbench; actor=human:u-42; role=admin", "actorId"],
      ["workbench; actor=human:u-42, studio; actor=agent:a-1", "actorId"],
    ];
    for (const [header, path] of cases) {
      assert.throws(
        () => parseCoreCaller(header),
        (error) =>
          error instanceof ValidationError && error.contract === "CoreCaller" &&
          error.issues.some((issue) => issue.path === path),
        header,
      );
    }
    assert.equal(parseCoreCaller(`workbench; actor=human:${"x".repeat(128)}`).actorId.length, 128);
  });
  await t.step("the error message does not echo the value", () => {
    assert.throws(
      () => parseCoreCaller("workbench; actor=human:s3cr3t token"),
      (error) => !String(error).includes("s3cr3t"),
    );
  });
});

Deno.test("plmTenantMiddleware() runs the handler inside tenant and trace context", async (t) => {
  await t.step(
    "valid headers: tenant, server span under the caller's, tracestate, caller",
    async () => {
      const { handler, calls } = counting();
      const request = get("/parts", {
        "x-plm-tenant-id": TENANT,
        "x-plm-core-caller": CALLER,
        traceparent: TRACEPARENT,
        tracestate: "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7",
      });
      const response = await handler(request);
      assert.equal(response.status, 200);
      assert.equal(calls[0], request);
      const seen: Seen = await response.json();
      assert.equal(seen.tenant, TENANT);
      assert.equal(seen.traceId, TRACE);
      assert.equal(seen.parentSpanId, PARENT);
      assert.notEqual(seen.spanId, PARENT);
      assert.deepEqual(seen.traceState, [["congo", "t61rcWkgMzE"], ["rojo", "00f067aa0ba902b7"]]);
      assert.deepEqual(seen.caller, {
        productLine: "workbench",
        actorKind: "human",
        actorId: "u-42",
      });
      assert.equal(response.headers.get("traceparent"), `00-${TRACE}-${seen.spanId}-01`);
    },
  );
  await t.step("an uppercase tenant id is lowercased", async () => {
    const response = await counting().handler(
      get("/", { "x-plm-tenant-id": TENANT.toUpperCase() }),
    );
    assert.equal((await response.json()).tenant, TENANT);
  });
  await t.step("no context is left behind after the request", async () => {
    await counting().handler(get("/", { "x-plm-tenant-id": TENANT })).then((r) => r.body?.cancel());
    assert.equal(currentTenant(), undefined);
    assert.equal(currentTraceContext(), undefined);
  });
  await t.step(
    "each kind of malformed traceparent starts a new trace; the request is served",
    async () => {
      const malformed = [
        `00-${TRACE.toUpperCase()}-${PARENT}-01`,
        `00-${"0".repeat(32)}-${PARENT}-01`,
        `00-${TRACE}-${"0".repeat(16)}-01`,
        `ff-${TRACE}-${PARENT}-01`,
        `00-${TRACE}-${PARENT}-01-extra`,
        `00-${TRACE}-${PARENT}-1`,
        `${TRACEPARENT}, ${TRACEPARENT}`,
        "garbage",
      ];
      for (const traceparent of malformed) {
        const response = await counting().handler(get("/", {
          "x-plm-tenant-id": TENANT,
          traceparent,
          tracestate: "foo=1",
        }));
        const seen: Seen = await response.json();
        assert.equal(response.status, 200, traceparent);
        assert.notEqual(seen.traceId, TRACE, traceparent);
        assert.equal(seen.parentSpanId, null);
        assert.deepEqual(seen.traceState, []);
        assert.equal(response.headers.get("traceparent"), `00-${seen.traceId}-${seen.spanId}-01`);
      }
    },
  );
  await t.step("a response with immutable headers still gets the traceparent", async () => {
    const handler = plmTenantMiddleware(() => Response.redirect("http://localhost/next", 303));
    const response = await handler(
      get("/", { "x-plm-tenant-id": TENANT, traceparent: TRACEPARENT }),
    );
    assert.equal(response.status, 303);
    assert.equal(response.headers.get("location"), "http://localhost/next");
    assert.match(response.headers.get("traceparent") ?? "", new RegExp(`^00-${TRACE}-`));
  });
  await t.step(
    "extra handler arguments pass through; the wrapper is a named function",
    async () => {
      const handler = plmTenantMiddleware((_request: Request, env: { region: string }) =>
        new Response(env.region)
      );
      assert.equal(handler.name, "plmTenantMiddlewareHandler");
      const response = await handler(get("/", { "x-plm-tenant-id": TENANT }), { region: "eu" });
      assert.equal(await response.text(), "eu");
    },
  );
  await t.step("an error of the handler propagates", async () => {
    const handler = plmTenantMiddleware(() => Promise.reject(new RangeError("handler failed")));
    await assert.rejects(handler(get("/", { "x-plm-tenant-id": TENANT })), RangeError);
  });
});

Deno.test("plmTenantMiddleware() refuses with RFC 9457 problems; the handler never runs", async (t) => {
  await t.step(
    "missing tenant: 400 tenant-missing, traceparent in the caller's trace",
    async () => {
      const { handler, calls } = counting();
      const response = await handler(get("/parts", { traceparent: TRACEPARENT }));
      const body = await assertProblem(response, "tenant-missing");
      assert.equal(body.title, "Tenant id missing");
      assert.match(response.headers.get("traceparent")!, new RegExp(`^00-${TRACE}-(?!${PARENT})`));
      assert.equal(calls.length, 0);
    },
  );
  await t.step("each kind of malformed tenant: 400 tenant-invalid, value not echoed", async () => {
    const { handler, calls } = counting();
    const malformed = [
      "",
      "tenant-acme",
      `{${TENANT}}`,
      TENANT.replaceAll("-", ""),
      TENANT.slice(0, -1),
      `${TENANT}0`,
      `${TENANT.slice(0, -1)}g`,
      "00000000-0000-0000-0000-000000000000",
      "ffffffff-ffff-ffff-ffff-ffffffffffff",
      `${TENANT}, 7d444840-9dc0-11d1-b245-5ffdce74fad2`,
      "' OR 1=1 --",
    ];
    for (const tenantId of malformed) {
      const response = await handler(get("/parts", { "x-plm-tenant-id": tenantId }));
      const body = await assertProblem(response, "tenant-invalid");
      if (tenantId !== "") assert.ok(!JSON.stringify(body).includes(tenantId), tenantId);
    }
    const twoLines = new Headers([["x-plm-tenant-id", TENANT], ["x-plm-tenant-id", TENANT]]);
    await assertProblem(
      await handler(new Request("http://localhost/", { headers: twoLines })),
      "tenant-invalid",
    );
    assert.equal(calls.length, 0);
  });
  await t.step("each kind of malformed caller: 400 caller-invalid naming the part", async () => {
    const { handler, calls } = counting();
    const malformed: [string, string][] = [
      ["workbench", "shape"],
      ["Workbench; actor=human:u-42", "productLine"],
      ["workbench; actor=robot:u-42", "actorKind"],
      ["workbench; actor=human:", "actorId"],
      ["workbench; actor=human:s3cr3t value", "actorId"],
      [`${CALLER}, studio; actor=agent:a-1`, "actorId"],
    ];
    for (const [caller, part] of malformed) {
      const response = await handler(
        get("/", { "x-plm-tenant-id": TENANT, "x-plm-core-caller": caller }),
      );
      const body = await assertProblem(response, "caller-invalid");
      assert.match(String(body.detail), new RegExp(`malformed: ${part}`), caller);
      assert.ok(!String(body.detail).includes("s3cr3t"));
    }
    assert.equal(calls.length, 0);
  });
  await t.step("the caller header is optional unless requireCoreCaller is set", async () => {
    const optional = counting();
    assert.equal((await optional.handler(get("/", { "x-plm-tenant-id": TENANT }))).status, 200);
    const required = counting({ requireCoreCaller: true, publicRoutes: ["/healthz"] });
    await assertProblem(
      await required.handler(get("/", { "x-plm-tenant-id": TENANT })),
      "caller-missing",
    );
    assert.equal(required.calls.length, 0);
    const ok = await required.handler(
      get("/", { "x-plm-tenant-id": TENANT, "x-plm-core-caller": CALLER }),
    );
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const health = await required.handler(get("/healthz"));
    assert.equal(health.status, 200);
    await health.body?.cancel();
  });
});

Deno.test("plmTenantMiddleware() serves public routes without a tenant", async (t) => {
  await t.step("listed paths match the exact pathname, any query", async () => {
    const { handler } = counting({ publicRoutes: ["/healthz", "/docs"] });
    for (const path of ["/healthz", "/healthz?probe=1", "/docs"]) {
      const response = await handler(get(path));
      assert.equal(response.status, 200, path);
      assert.equal((await response.json()).tenant, null);
    }
    for (const path of ["/healthz/", "/healthz/x", "/docs2", "/"]) {
      await assertProblem(await handler(get(path)), "tenant-missing");
    }
  });
  await t.step(
    "a valid tenant on a public route is still set; a malformed one refused",
    async () => {
      const { handler } = counting({ publicRoutes: ["/healthz"] });
      const response = await handler(get("/healthz", { "x-plm-tenant-id": TENANT }));
      assert.equal((await response.json()).tenant, TENANT);
      await assertProblem(
        await handler(get("/healthz", { "x-plm-tenant-id": "nope" })),
        "tenant-invalid",
      );
      const caller = { "x-plm-core-caller": "nope" };
      await assertProblem(await handler(get("/healthz", caller)), "caller-invalid");
    },
  );
  await t.step("a predicate decides per request", async () => {
    const { handler } = counting({
      publicRoutes: (request) =>
        request.method === "GET" && new URL(request.url).pathname.startsWith("/public/"),
    });
    const response = await handler(get("/public/logo.svg"));
    assert.equal(response.status, 200);
    await response.body?.cancel();
    const post = new Request("http://localhost/public/logo.svg", { method: "POST" });
    await assertProblem(await handler(post), "tenant-missing");
  });
});

Deno.test("plmTenantMiddleware() checks its options when built", () => {
  const handler = () => new Response();
  const bad: [unknown, unknown, RegExp][] = [
    [undefined, {}, /handler must be/],
    [handler, null, /options must be an object/],
    [handler, { publicRoute: ["/healthz"] }, /unknown option "publicRoute"/],
    [handler, { publicRoutes: "/healthz" }, /publicRoutes must be/],
    [handler, { publicRoutes: ["healthz"] }, /public route "healthz"/],
    [handler, { publicRoutes: ["/healthz?x=1"] }, /public route/],
    [handler, { publicRoutes: [42] }, /public route "42"/],
    [handler, { requireCoreCaller: "yes" }, /requireCoreCaller must be a boolean/],
  ];
  for (const [fn, options, message] of bad) {
    assert.throws(
      () => plmTenantMiddleware(fn as typeof handler, options as Record<string, never>),
      (error) => error instanceof TypeError && message.test(error.message),
      String(message),
    );
  }
});

Deno.test("plmTenantMiddleware() over real HTTP with Deno.serve", async (t) => {
  await serve(plmTenantMiddleware(echo, { publicRoutes: ["/healthz"] }), async (base) => {
    await t.step("serves a valid request and refuses a missing tenant", async () => {
      const ok = await fetch(`${base}/parts`, {
        headers: {
          "x-plm-tenant-id": TENANT,
          "x-plm-core-caller": CALLER,
          traceparent: TRACEPARENT,
        },
      });
      const seen: Seen = await ok.json();
      assert.equal(seen.tenant, TENANT);
      assert.equal(ok.headers.get("traceparent"), `00-${TRACE}-${seen.spanId}-01`);
      await assertProblem(await fetch(`${base}/parts`), "tenant-missing");
      const health = await fetch(`${base}/healthz`);
      assert.equal((await health.json()).tenant, null);
    });
    await t.step("500 interleaved concurrent requests of different tenants: no bleed", async () => {
      const requests = Array.from({ length: 500 }, (_, i) => ({
        tenant: crypto.randomUUID(),
        traceId: crypto.randomUUID().replaceAll("-", ""),
        marker: String(i),
      }));
      const results = await Promise.all(requests.map(async ({ tenant, traceId, marker }) => {
        const response = await fetch(`${base}/echo`, {
          headers: {
            "x-plm-tenant-id": tenant,
            traceparent: `00-${traceId}-${PARENT}-01`,
            "x-marker": marker,
          },
        });
        return {
          seen: (await response.json()) as Seen,
          traceparent: response.headers.get("traceparent"),
        };
      }));
      const spans = new Set<string>();
      results.forEach(({ seen, traceparent }, i) => {
        assert.equal(seen.marker, requests[i].marker);
        assert.equal(seen.tenant, requests[i].tenant);
        assert.equal(seen.traceId, requests[i].traceId);
        assert.equal(traceparent, `00-${requests[i].traceId}-${seen.spanId}-01`);
        spans.add(seen.spanId);
      });
      assert.equal(spans.size, 500);
      assert.equal(new Set(requests.map((r) => r.tenant)).size, 500);
    });
  });
  await t.step("Deno.serve's info argument reaches the handler", async () => {
    const handler = plmTenantMiddleware((_request: Request, info: Deno.ServeHandlerInfo) =>
      new Response((info.remoteAddr as Deno.NetAddr).hostname)
    );
    await serve(handler, async (base) => {
      const response = await fetch(base, { headers: { "x-plm-tenant-id": TENANT } });
      assert.equal(await response.text(), "127.0.0.1");
    });
  });
});

Deno.test("plmTenantMiddleware() wraps Hono's app.fetch", async (t) => {
  const app = new Hono();
  app.get(
    "/parts/:id",
    (c) =>
      c.json({
        tenant: requireTenant(),
        traceId: requireTraceContext().traceId,
        id: c.req.param("id"),
      }),
  );
  app.get("/slow", async (c) => {
    await delay(Math.floor(Math.random() * 5));
    return c.text(requireTenant());
  });
  const handler = plmTenantMiddleware(app.fetch, { publicRoutes: ["/healthz"] });

  await t.step("routes see the tenant and trace; Hono's 404 gets a traceparent", async () => {
    const response = await handler(
      get("/parts/p-1", { "x-plm-tenant-id": TENANT, traceparent: TRACEPARENT }),
    );
    assert.deepEqual(await response.json(), { tenant: TENANT, traceId: TRACE, id: "p-1" });
    assert.match(response.headers.get("traceparent") ?? "", new RegExp(`^00-${TRACE}-`));
    const missing = await handler(get("/nowhere", { "x-plm-tenant-id": TENANT }));
    assert.equal(missing.status, 404);
    assert.ok(missing.headers.has("traceparent"));
    await missing.body?.cancel();
  });
  await t.step("refusals never reach Hono", async () => {
    await assertProblem(await handler(get("/parts/p-1")), "tenant-missing");
  });
  await t.step("over real HTTP, 100 concurrent requests keep their tenants", async () => {
    await serve(handler, async (base) => {
      const tenants = Array.from({ length: 100 }, () => crypto.randomUUID());
      const seen = await Promise.all(
        tenants.map((tenant) =>
          fetch(`${base}/slow`, { headers: { "x-plm-tenant-id": tenant } }).then((r) => r.text())
        ),
      );
      assert.deepEqual(seen, tenants);
    });
  });
});

Deno.test("corsAllowedHeaders() lets a CORS layer around the middleware pass", async (t) => {
  const origin = "https://workbench.example";
  const api = new Hono();
  api.post("/runs", (c) => c.json({ tenant: requireTenant() }, 201));
  const app = new Hono();
  app.use(
    "*",
    cors({ origin, allowHeaders: corsAllowedHeaders(), exposeHeaders: ["traceparent"] }),
  );
  app.mount("/", plmTenantMiddleware(api.fetch));

  await t.step("lists exactly the headers the middleware reads, plus idempotency-key", () => {
    assert.deepEqual(corsAllowedHeaders().sort(), [
      "idempotency-key",
      "traceparent",
      "tracestate",
      "x-plm-core-caller",
      "x-plm-tenant-id",
    ]);
    corsAllowedHeaders().pop();
    assert.equal(corsAllowedHeaders().length, 5, "each call returns a new array");
  });
  await serve(app.fetch, async (base) => {
    await t.step(
      "a preflight is answered by the CORS layer with every header allowed",
      async () => {
        const response = await fetch(`${base}/runs`, {
          method: "OPTIONS",
          headers: {
            origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": corsAllowedHeaders().join(", "),
          },
        });
        await response.body?.cancel();
        assert.equal(response.status, 204);
        assert.equal(response.headers.get("access-control-allow-origin"), origin);
        const allowed = response.headers.get("access-control-allow-headers")!.toLowerCase().split(
          ",",
        );
        for (const header of corsAllowedHeaders()) assert.ok(allowed.includes(header), header);
      },
    );
    await t.step("a refused request still carries the CORS headers", async () => {
      const response = await fetch(`${base}/runs`, { method: "POST", headers: { origin } });
      await assertProblem(response, "tenant-missing");
      assert.equal(response.headers.get("access-control-allow-origin"), origin);
      assert.equal(response.headers.get("access-control-expose-headers"), "traceparent");
    });
    await t.step("a served request carries CORS headers and the traceparent", async () => {
      const response = await fetch(`${base}/runs`, {
        method: "POST",
        headers: { origin, "x-plm-tenant-id": TENANT, "idempotency-key": "k-1" },
      });
      assert.equal(response.status, 201);
      assert.deepEqual(await response.json(), { tenant: TENANT });
      assert.equal(response.headers.get("access-control-allow-origin"), origin);
      assert.ok(response.headers.has("traceparent"));
    });
  });
});
