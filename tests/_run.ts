/**
 * Shared by the CLI tests: run a Deno subprocess the way a user would, with `PG_DSN` cleared (so
 * only `--dsn` names a database) and without colours.
 *
 * @module
 */

/** What a finished subprocess printed. */
export interface DenoRun {
  /** Exit status. */
  code: number;
  /** Standard output, decoded. */
  stdout: string;
  /** Standard error, decoded. */
  stderr: string;
}

/**
 * Run `deno <args>` in `cwd` and wait for it.
 *
 * @param cwd Working directory (its deno.json, if any, applies).
 * @param args Arguments after `deno`.
 * @returns Exit status and output.
 */
export async function runDeno(cwd: string, ...args: string[]): Promise<DenoRun> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1", PG_DSN: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return {
    code: output.code,
    stdout: text.decode(output.stdout),
    stderr: text.decode(output.stderr),
  };
}
