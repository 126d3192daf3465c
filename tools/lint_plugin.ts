/**
 * Local deno lint plugin `plm` with one rule, `plm/sql-boundary`: only the SQL boundary files
 * (see tools/_boundary.ts) may import a PostgreSQL driver (`postgres`, `@electric-sql/*`).
 * It sees static imports (value and type), re-exports, dynamic `import()`, `import("x")` types
 * and `require()`.
 *
 * A file's path is taken relative to its package root: the nearest directory above it that
 * holds a deno.json (or deno.jsonc), so fixtures with their own deno.json are judged like the
 * package itself.
 *
 * @module
 */
import { driverFamily, mayImportDriver } from "./_boundary.ts";

const plugin: Deno.lint.Plugin = {
  name: "plm",
  rules: {
    "sql-boundary": {
      create(context) {
        const path = rootRelativePath(context.filename);
        function check(node: Deno.lint.Node, specifier: string | undefined): void {
          if (specifier === undefined) return;
          const family = driverFamily(specifier);
          if (family !== "postgres" && family !== "embedded") return;
          if (mayImportDriver(path, family)) return;
          context.report({
            node,
            message: `"${path}" imports the PostgreSQL driver "${specifier}" outside the SQL ` +
              "boundary",
            hint: "Only src/db.ts, src/postgres_kernel_emitter.ts, src/migrate.ts and " +
              "migrations/ may load a driver; go through the ./postgres exports instead",
          });
        }
        return {
          ImportDeclaration: (node) => check(node, node.source.value),
          ExportNamedDeclaration: (node) => check(node, node.source?.value),
          ExportAllDeclaration: (node) => check(node, node.source.value),
          ImportExpression: (node) => check(node, literalText(node.source)),
          TSImportType: (node) => check(node, literalText(node.argument)),
          CallExpression(node) {
            if (node.callee.type === "Identifier" && node.callee.name === "require") {
              check(node, literalText(node.arguments[0]));
            }
          },
        };
      },
    },
  },
};

export default plugin;

/** The text of a string literal, a template without substitutions or a literal type. */
function literalText(node: Deno.lint.Node | undefined): string | undefined {
  if (node?.type === "Literal" && typeof node.value === "string") return node.value;
  if (node?.type === "TemplateLiteral" && node.expressions.length === 0) {
    return node.quasis[0].cooked;
  }
  if (node?.type === "TSLiteralType") return literalText(node.literal);
  return undefined;
}

const isRootCache = new Map<string, boolean>();

/** `filename` relative to the nearest directory holding a deno.json, with `/` separators. */
function rootRelativePath(filename: string): string {
  const absolute = filename.startsWith("/") ? filename : `${Deno.cwd()}/${filename}`;
  const parts = absolute.split("/");
  for (let end = parts.length - 1; end > 0; end--) {
    const dir = parts.slice(0, end).join("/") || "/";
    let isRoot = isRootCache.get(dir);
    if (isRoot === undefined) {
      isRoot = ["deno.json", "deno.jsonc"].some((name) => exists(`${dir}/${name}`));
      isRootCache.set(dir, isRoot);
    }
    if (isRoot) return parts.slice(end).join("/");
  }
  return filename;
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
