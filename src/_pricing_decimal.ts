/**
 * Internal: exact non-negative decimal arithmetic on BigInt, for pricing. A value is
 * `units × 10^-scale`. Numbers enter through their shortest round-trip decimal form
 * (`String(2.5e-6)` is `"0.0000025"`), so a price written in JSON with up to 17 significant
 * digits is used exactly as written.
 *
 * @module
 */

/** An exact non-negative decimal: `units × 10^-scale`, `scale >= 0`. */
export interface Decimal {
  readonly units: bigint;
  readonly scale: number;
}

const DECIMAL_TEXT = /^(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;
/** Exponents beyond this are refused (no price or rate needs them; BigInt stays small). */
const MAX_EXPONENT = 100;

/**
 * Read a non-negative decimal from a finite number or a decimal string (`"0.0000025"`,
 * `"2.5e-6"`).
 *
 * @param value The untrusted value.
 * @returns The exact decimal, or `undefined` when the value is not one.
 */
export function toDecimal(value: unknown): Decimal | undefined {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) return undefined;
    value = String(value); // shortest round-trip form; -0 gives "0"
  }
  if (typeof value !== "string") return undefined;
  const match = DECIMAL_TEXT.exec(value);
  if (match === null) return undefined;
  const [, whole, fraction = "", exponentText = "0"] = match;
  const exponent = Number(exponentText);
  if (Math.abs(exponent) > MAX_EXPONENT) return undefined;
  const scale = fraction.length - exponent;
  const units = BigInt(whole + fraction);
  return scale >= 0 ? { units, scale } : { units: units * 10n ** BigInt(-scale), scale: 0 };
}

/**
 * The exact product.
 *
 * @param a A factor.
 * @param b A factor.
 * @returns `a × b`.
 */
export function multiply(a: Decimal, b: Decimal): Decimal {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

/**
 * The exact sum.
 *
 * @param a A term.
 * @param b A term.
 * @returns `a + b`.
 */
export function add(a: Decimal, b: Decimal): Decimal {
  const scale = Math.max(a.scale, b.scale);
  return { units: align(a, scale) + align(b, scale), scale };
}

/**
 * Round to `places` decimal places, half up (for these non-negative values the same as
 * PostgreSQL's rounding of `numeric`: half away from zero).
 *
 * @param value The value.
 * @param places Decimal places to keep.
 * @returns The rounded value (scale at most `places`).
 */
export function roundHalfUp(value: Decimal, places: number): Decimal {
  if (value.scale <= places) return value;
  const divisor = 10n ** BigInt(value.scale - places);
  const quotient = value.units / divisor;
  const rest = value.units % divisor;
  return { units: 2n * rest >= divisor ? quotient + 1n : quotient, scale: places };
}

/**
 * Plain decimal text without exponent or trailing zeros (`"0.0000025"`, `"12"`).
 *
 * @param value The value.
 * @returns Its text.
 */
export function formatDecimal(value: Decimal): string {
  const digits = value.units.toString().padStart(value.scale + 1, "0");
  const whole = digits.slice(0, digits.length - value.scale);
  const fraction = digits.slice(digits.length - value.scale).replace(/0+$/, "");
  return fraction === "" ? whole : `${whole}.${fraction}`;
}

function align(value: Decimal, scale: number): bigint {
  return value.units * 10n ** BigInt(scale - value.scale);
}
