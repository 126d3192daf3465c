import { connect } from "../src/db.ts";
import { createServer } from "node:net";
const mode = Deno.args[0];
const server = createServer((s) => {
  s.on("error", () => {});
  if (mode === "http") s.on("data", () => { s.end("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"); });
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const port = (server.address() as { port: number }).port;
const sql = connect(`postgres://postgres@127.0.0.1:${port}/x`, { max: 1, connectTimeout: 2 });
const t0 = performance.now();
const op = Deno.args[1] === "reserve" ? sql.reserve() : sql`select 1`;
const timer = setTimeout(() => { console.log(mode, "still hanging after 8s"); Deno.exit(0); }, 8000);
try { await op; console.log("ok?"); } catch (e) { console.log(mode, "error after", Math.round(performance.now() - t0), (e as Error).constructor.name, (e as {code?: string}).code, (e as Error).message); }
clearTimeout(timer);
Deno.exit(0);
