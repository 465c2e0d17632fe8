/**
 * Command-line flags generated from the worker's option table
 * (WORKER_OPTIONS in pipeline/stream/config.ts), so every command that
 * takes some of those options names, describes and validates them the same
 * way: --kebab-case of the key, the table's description and default.
 */
import { WORKER_OPTIONS, defaultText, envName, flagName, type WorkerOption } from '../pipeline/stream/config.js';
import type { OptionSpec, Parsed } from './args.js';

/** The flags of `options`; `descriptions` replaces the table's text (description and default) of some keys. */
export function workerFlags(options: readonly WorkerOption[] = WORKER_OPTIONS, descriptions: Partial<Record<WorkerOption['key'], string>> = {}): Record<string, OptionSpec> {
  const flags: Record<string, OptionSpec> = {};
  for (const o of options) {
    const text = defaultText(o);
    const def = text !== undefined && descriptions[o.key] === undefined ? ` (default: ${text})` : '';
    flags[flagName(o.key)] = {
      type: o.kind.type === 'bool' ? 'boolean' : 'string',
      ...(o.arg ? { arg: o.arg } : {}),
      ...(o.kind.type === 'enum' ? { values: o.kind.values } : {}),
      description: `${descriptions[o.key] ?? o.description}${def}`,
    };
  }
  return flags;
}

/** The values given for the flags of `options`, by option key (undefined: not given), as resolveWorkerConfig takes them. */
export function workerFlagValues(p: Parsed, options: readonly WorkerOption[] = WORKER_OPTIONS): Record<string, string | boolean | undefined> {
  const flags: Record<string, string | boolean | undefined> = {};
  for (const o of options) {
    const v = p.values[flagName(o.key)];
    flags[o.key] = typeof v === 'string' || typeof v === 'boolean' ? v : undefined;
  }
  return flags;
}

/** The names of each of `options` (flag, environment variable and, with `keys`, config file key), one row each, for --help. */
export function workerFlagTable(options: readonly WorkerOption[] = WORKER_OPTIONS, keys = true): string {
  const rows = options.map((o) => [`--${flagName(o.key)}`, envName(o.key), keys ? o.key : '']);
  const w0 = Math.max(...rows.map((r) => r[0].length)) + 2;
  const w1 = Math.max(...rows.map((r) => r[1].length)) + 2;
  return rows.map(([f, e, k]) => `  ${f.padEnd(w0)}${e.padEnd(w1)}${k}`.trimEnd()).join('\n');
}
