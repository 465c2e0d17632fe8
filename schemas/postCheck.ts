/**
 * The one check of a post given as JSON, shared by `mentionflow produce`
 * (which refuses the file) and the file mode of `mentionflow run` (which
 * dead-letters the line): the Post schema's rules (registry.validate), worded
 * the same in both places, e.g. "not a valid Post: author_id: expected string, got undefined (missing)".
 */
import { validate, type Type } from './registry.js';

/** Why `value` is not a Post of schema `type`, in one sentence; undefined when it is one. */
export function postProblem(type: Type, value: unknown): string | undefined {
  const issues = validate(type, value);
  if (issues.length === 0) return undefined;
  return `not a valid Post: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`;
}

/** Why a line is not JSON, in the same words everywhere. */
export function notJson(err: unknown): string {
  return `not JSON: ${(err as Error).message}`;
}
