/**
 * `ContractSchema<T>`: the public type of every frozen contract's schema (`IdempotencyKey`,
 * the kernel arguments, `KnowledgeEnvelopeV1`).
 *
 * @module
 */

/**
 * A frozen contract's schema. Underneath it is a strict zod 4 schema (so `z.toJSONSchema`
 * works on it); the public type shows only what callers need, so that the package's API does
 * not depend on zod's type names. The emitters report failures as `ValidationError`.
 *
 * @typeParam T The parsed value.
 */
export interface ContractSchema<T> {
  /**
   * Validate a value and return it parsed (defaults applied).
   *
   * @param value The untrusted value.
   * @returns The parsed value.
   * @throws {Error} A zod error listing every issue, when the value does not match.
   */
  parse(value: unknown): T;
  /**
   * Validate a value without throwing.
   *
   * @param value The untrusted value.
   * @returns `{ success: true, data }` or `{ success: false, error }`.
   */
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: Error };
}
