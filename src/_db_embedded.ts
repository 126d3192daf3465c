/**
 * Internal: PGlite (PostgreSQL compiled to WebAssembly, in process) served over loopback TCP
 * with `@electric-sql/pglite-socket`, so postgres.js reaches it exactly as it reaches a server.
 * Both packages are imported on first use: importing `./postgres` does not load them.
 *
 * @module
 */

/** A running embedded server. */
export interface EmbeddedServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  readonly dsn: string;
  /** Stops the listener, then closes the database. */
  close(): Promise<void>;
}

/**
 * Start PGlite and serve it on 127.0.0.1, on a free port. The server accepts one connection at
 * a time and every connection shares one session (PGlite is single-user).
 *
 * @param dataDir Directory holding the data, or `undefined` for an in-memory database.
 * @returns The DSN and a `close` function.
 */
export async function startPglite(dataDir: string | undefined): Promise<EmbeddedServer> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const db = await PGlite.create(dataDir === undefined ? {} : { dataDir });
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0 });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  return {
    dsn: `postgres://postgres@${server.getServerConn()}/postgres`,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}
