import assert from "node:assert/strict";
import plugin from "../tools/lint_plugin.ts";

const FORMS: Record<string, string> = {
  "static import": `import postgres from "postgres";`,
  "type import": `import type { Sql } from "postgres";`,
  "side-effect import": `import "npm:postgres@3.4.9";`,
  "named re-export": `export { default as connect } from "postgres";`,
  "star re-export": `export * from "npm:/postgres@3.4.9/cjs";`,
  "dynamic import": `export const load = () => import("postgres");`,
  "dynamic import of a plain template": "export const load = () => import(`postgres`);",
  "import() type": `export type Sql = import("postgres").Sql;`,
  "require()": `const postgres = require("postgres");`,
  "PGlite": `import { PGlite } from "@electric-sql/pglite";`,
  "pglite-socket": `import { PGLiteSocketServer } from "npm:@electric-sql/pglite-socket@0.2.17";`,
};

function lint(path: string, source: string): Deno.lint.Diagnostic[] {
  return Deno.lint.runPlugin(plugin, path, source);
}

Deno.test("plm/sql-boundary rejects every form of driver import outside the boundary", async (t) => {
  for (const [form, source] of Object.entries(FORMS)) {
    await t.step(form, () => {
      const diagnostics = lint("src/pricing.ts", source);
      assert.equal(diagnostics.length, 1, `no report for ${form}`);
      assert.equal(diagnostics[0].id, "plm/sql-boundary");
      assert.match(diagnostics[0].message, /"src\/pricing\.ts" imports the PostgreSQL driver/);
    });
  }
});

Deno.test("plm/sql-boundary rejects drivers in entry points and internal helpers", () => {
  for (const path of ["mod.ts", "postgres.ts", "src/_idempotency_json.ts", "src/db/extra.ts"]) {
    assert.equal(lint(path, FORMS["static import"]).length, 1, path);
  }
});

Deno.test("plm/sql-boundary allows the boundary files, migrations, tests, bench and tools", () => {
  const allowed = [
    "src/db.ts",
    "src/postgres_kernel_emitter.ts",
    "src/migrate.ts",
    "migrations/0001_tenants_runs.ts",
    "tests/pg/emitter_test.ts",
    "bench/throughput.ts",
    "tools/demo.ts",
  ];
  for (const path of allowed) {
    for (const [form, source] of Object.entries(FORMS)) {
      assert.deepEqual(lint(path, source), [], `${path}: ${form}`);
    }
  }
});

Deno.test("plm/sql-boundary lets only the PGlite starter import @electric-sql, not postgres", () => {
  assert.deepEqual(lint("src/_db_embedded.ts", FORMS["PGlite"]), []);
  assert.deepEqual(lint("src/_db_embedded.ts", FORMS["pglite-socket"]), []);
  assert.equal(lint("src/_db_embedded.ts", FORMS["static import"]).length, 1);
});

Deno.test("plm/sql-boundary ignores other packages and look-alike names", () => {
  const source = [
    `import { z } from "zod";`,
    `import { S3Client } from "@aws-sdk/client-s3";`,
    `import "./postgres.ts";`,
    `import "../postgres.ts";`,
    `import "postgres-array";`,
    `import "npm:pg@8";`,
    `import { x } from "node:postgres";`,
    "const name = 'postgres'; export const load = () => import(name);",
  ].join("\n");
  assert.deepEqual(lint("src/pricing.ts", source), []);
});

Deno.test("plm/sql-boundary runs under deno lint with the package's deno.json", async (t) => {
  const fixtures = new URL("./fixtures/conformance/lint/", import.meta.url);
  await t.step("violating package fails with one report per offending file", async () => {
    const { code, output } = await denoLint(new URL("violating/", fixtures));
    assert.equal(code, 1, output);
    for (const file of ["src/pricing.ts", "src/middleware.ts", "mod.ts"]) {
      assert.ok(output.includes(`"${file}" imports the PostgreSQL driver`), file);
    }
    assert.equal(output.match(/error\[plm\/sql-boundary\]/g)?.length, 3, output);
  });
  await t.step("clean package passes", async () => {
    const { code, output } = await denoLint(new URL("clean/", fixtures));
    assert.equal(code, 0, output);
  });
});

async function denoLint(dir: URL): Promise<{ code: number; output: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["lint"],
    cwd: dir,
    env: { NO_COLOR: "1" },
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: result.code, output: decode(result.stdout) + decode(result.stderr) };
}
