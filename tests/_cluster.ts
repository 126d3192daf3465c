/**
 * A throwaway PostgreSQL 15 cluster for tests that need cluster-wide objects of their own
 * (roles): `initdb` and `pg_ctl` from the Debian packages, run as user `postgres`, on a free
 * loopback port, in a temp directory removed by `stop()`.
 *
 * ```ts ignore
 * Deno.test({ name: "...", ignore: !hasClusterBinaries() }, async () => {
 *   await using cluster = await startCluster();
 *   const sql = connect(cluster.dsn);
 * });
 * ```
 *
 * @module
 */
import { existsSync } from "node:fs";

const BIN = "/usr/lib/postgresql/15/bin";

/** A running throwaway cluster. */
export interface Cluster {
  /** Superuser DSN of database `postgres` (trust authentication, loopback only). */
  readonly dsn: string;
  /** Stop the server and remove its directory. */
  stop(): Promise<void>;
  /** Same as `stop`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Whether `initdb`, `pg_ctl` and `runuser` are there (else the tests are ignored). */
export function hasClusterBinaries(): boolean {
  return existsSync(`${BIN}/initdb`) && existsSync(`${BIN}/pg_ctl`) &&
    existsSync("/usr/sbin/runuser") && Deno.uid?.() === 0;
}

/** Start a fresh cluster; stop it when done. */
export async function startCluster(): Promise<Cluster> {
  const dir = await Deno.makeTempDir({ prefix: "plm-cluster-" });
  await run("chown", "postgres", dir);
  const data = `${dir}/data`;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const stop = async () => {
    await asPostgres("pg_ctl", "-D", data, "-m", "immediate", "stop").catch(() => {});
    await Deno.remove(dir, { recursive: true });
  };
  try {
    await asPostgres("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync");
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    await asPostgres("pg_ctl", "-D", data, "-o", options, "-l", `${dir}/log`, "-w", "start");
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    dsn: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Run a PostgreSQL binary as user `postgres` (initdb refuses root). */
function asPostgres(binary: string, ...args: string[]): Promise<void> {
  return run("runuser", "-u", "postgres", "--", `${BIN}/${binary}`, ...args);
}

async function run(command: string, ...args: string[]): Promise<void> {
  const output = await new Deno.Command(command, { args, stdout: "null", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(`${command} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
}
