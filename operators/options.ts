/**
 * Construction-time checks for operator options (shared by the operators,
 * not re-exported from operators/index.ts). Each throws a ConfigError naming
 * the operator, the option, the bad value and what to use instead.
 */
import { ConfigError } from '../common/errors.js';

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The options argument itself must be an object (or undefined when `optional`). */
export function checkOptionsObject(op: string, opts: unknown, optional: boolean): void {
  if (opts === undefined && optional) return;
  if (opts === null || typeof opts !== 'object') {
    throw new ConfigError(`${op}: expected an options object, got ${show(opts)}`);
  }
}

/** A nested object option such as `tagger` or `model`. */
export function checkObject(op: string, name: string, value: unknown, hint: string): void {
  if (value === null || typeof value !== 'object') {
    throw new ConfigError(`${op}: ${name} must be an object, got ${show(value)}; ${hint}`);
  }
}

/** A positive integer (>= 1). */
export function checkPositiveInteger(op: string, name: string, value: unknown, hint: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ConfigError(`${op}: ${name} must be a positive integer, got ${show(value)}; ${hint}`);
  }
}

/** A number >= min (or > min when `exclusive`); Infinity passes, NaN does not. */
export function checkNumberAtLeast(
  op: string,
  name: string,
  value: unknown,
  min: number,
  exclusive: boolean,
  hint: string,
): void {
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    (exclusive ? value > min : value >= min);
  if (!ok) {
    throw new ConfigError(`${op}: ${name} must be a number ${exclusive ? '>' : '>='} ${min}, got ${show(value)}; ${hint}`);
  }
}

/** A function, or undefined when `optional`. */
export function checkFunction(op: string, name: string, value: unknown, optional: boolean, hint: string): void {
  if (value === undefined && optional) return;
  if (typeof value !== 'function') {
    throw new ConfigError(`${op}: ${name} must be a function, got ${show(value)}; ${hint}`);
  }
}

/** A non-empty string. */
export function checkNonEmptyString(op: string, name: string, value: unknown, hint: string): void {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigError(`${op}: ${name} must be a non-empty string, got ${show(value)}; ${hint}`);
  }
}

/** One of a fixed set of values. */
export function checkOneOf<T extends string>(op: string, name: string, value: unknown, allowed: readonly T[]): void {
  if (!(allowed as readonly unknown[]).includes(value)) {
    throw new ConfigError(`${op}: ${name} must be one of ${allowed.map((a) => show(a)).join(', ')}, got ${show(value)}`);
  }
}
