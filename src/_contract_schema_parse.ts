/**
 * Internal: run a zod schema and turn its failure into a {@link ValidationError}.
 *
 * @module
 */
import type { z } from "zod";
import { ValidationError } from "./errors.ts";

/**
 * Parse `value` with `schema`; on failure throw a `ValidationError` naming every field path.
 *
 * @param schema The zod schema of the contract.
 * @param contract The contract's public name, used in the message.
 * @param value The untrusted input.
 * @returns The parsed (and defaulted) value.
 * @throws {ValidationError} When the value does not match.
 */
export function parseContract<S extends z.ZodType>(
  schema: S,
  contract: string,
  value: unknown,
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(
    contract,
    result.error.issues.flatMap((issue) =>
      issue.code === "unrecognized_keys"
        ? issue.keys.map((key) => ({
          path: [...issue.path, key].map(String).join("."),
          message: "unknown field: remove it or check its spelling",
        }))
        : [{ path: issue.path.map(String).join("."), message: issue.message }]
    ),
    { cause: result.error },
  );
}
