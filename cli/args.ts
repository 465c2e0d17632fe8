/**
 * Command-line parsing shared by the subcommands: node's util.parseArgs in
 * strict mode (an unknown option is a ConfigError naming it), a generated
 * --help text from the same option specs, and typed number parsing.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../common/errors.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
  /** Placeholder shown in help, e.g. FILE. */
  arg?: string;
  default?: string | boolean;
  short?: string;
  multiple?: boolean;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  /** Extra help text (examples, notes). */
  notes?: string;
  allowPositionals?: boolean;
}

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

const HELP: OptionSpec = { type: 'boolean', description: 'show this help', short: 'h' };

export function helpText(spec: CommandSpec): string {
  const opts = { ...spec.options, help: HELP };
  const rows = Object.entries(opts).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.arg ? ` ${o.arg}` : ''}`;
    const def = o.default !== undefined && o.default !== false ? ` (default: ${o.default})` : '';
    return [flag, o.description + def] as const;
  });
  const width = Math.max(...rows.map((r) => r[0].length)) + 2;
  return [
    `mentionflow ${spec.name}: ${spec.summary}`,
    '',
    `usage: ${spec.usage}`,
    '',
    'options:',
    ...rows.map(([f, d]) => `  ${f.padEnd(width)}${d}`),
    ...(spec.notes ? ['', spec.notes] : []),
    '',
  ].join('\n');
}

/** Parses argv for a command; throws ConfigError for unknown or malformed options. */
export function parseCommand(spec: CommandSpec, argv: string[]): Parsed | 'help' {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, o] of Object.entries({ ...spec.options, help: HELP })) {
    options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: spec.allowPositionals ?? false, strict: true });
  } catch (err) {
    throw new ConfigError(`${(err as Error).message.replace(/\. To specify.*$/s, '')}\nrun \`mentionflow ${spec.name} --help\` for the options`);
  }
  if (parsed.values.help) return 'help';
  const values: Parsed['values'] = {};
  for (const [name, o] of Object.entries(spec.options)) values[name] = (parsed.values[name] as string | boolean | undefined) ?? o.default;
  return { values, positionals: parsed.positionals };
}

export function requireString(p: Parsed, name: string, command: string): string {
  const v = p.values[name];
  if (typeof v !== 'string' || v.length === 0) throw new ConfigError(`missing --${name}; run \`mentionflow ${command} --help\``);
  return v;
}

/** Parses a numeric option; undefined stays undefined. */
export function numberOption(p: Parsed, name: string, opts: { integer?: boolean; min?: number; max?: number } = {}): number | undefined {
  const v = p.values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  const bad = typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || (opts.integer && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max);
  if (bad) {
    const range = `${opts.integer ? 'an integer' : 'a number'}${opts.min !== undefined ? ` >= ${opts.min}` : ''}${opts.max !== undefined ? ` <= ${opts.max}` : ''}`;
    throw new ConfigError(`--${name} must be ${range}, got ${JSON.stringify(v)}`);
  }
  return n;
}
