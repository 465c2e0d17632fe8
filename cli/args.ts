/**
 * Command-line parsing shared by the subcommands. Each command describes its
 * options once, as a CommandSpec table; `commandFromSpec` turns that table
 * into a commander Command (parsing, --help, "did you mean" suggestions for
 * mistyped flags), and the command's `run` receives the values by flag name
 * as `Parsed`. The helpers below check option values and name the flag in
 * a ConfigError (exit 2) when one is off.
 */
import { existsSync, statSync } from 'node:fs';
import { Command, Option } from 'commander';
import { INFERENCE_PRECISIONS } from '../models/layers/precision.js';
import { ConfigError } from '../common/errors.js';
import { BACKEND_CHOICES } from '../models/backend.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
  /** Placeholder shown in help, e.g. FILE. */
  arg?: string;
  default?: string | boolean;
  short?: string;
  multiple?: boolean;
  /** The values the option takes (checked when parsing; offered by shell completion). */
  choices?: readonly string[];
  /** Values offered by shell completion, checked by the command itself (e.g. with "did you mean" hints). */
  values?: readonly string[];
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  /** Extra help text (examples, notes). */
  notes?: string;
  allowPositionals?: boolean;
  /** Placeholder of the positionals in help; default ARGS. */
  positionals?: string;
  /** The values the positionals take, offered by shell completion (e.g. the shells of `completion`). */
  positionalValues?: readonly string[];
}

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** A subcommand: its option table and what it does; or a group of subcommands (`topics create|describe`). */
export interface CommandModule {
  spec: CommandSpec;
  run?(p: Parsed): Promise<number>;
  subcommands?: readonly CommandModule[];
}

/** The values shell completion offers for an option (its choices, or its spec's `values`). */
export const COMPLETION_VALUES = new WeakMap<Option, readonly string[]>();
/** The values shell completion offers for a command's positionals. */
export const POSITIONAL_VALUES = new WeakMap<Command, readonly string[]>();

function optionOf(name: string, o: OptionSpec): Option {
  const value = o.type === 'string' ? ` <${o.arg ?? 'VALUE'}>` : '';
  const def = o.default !== undefined && o.default !== false ? ` (default: ${o.default})` : '';
  const option = new Option(`${o.short ? `-${o.short}, ` : ''}--${name}${value}`, o.description + def);
  if (o.choices) option.choices(o.choices);
  const values = o.choices ?? o.values;
  if (values) COMPLETION_VALUES.set(option, values);
  if (o.multiple) option.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
  return option;
}

/** The values of `cmd` by flag name, with the spec's defaults filled in. */
function parsedOf(spec: CommandSpec, cmd: Command): Parsed {
  const byFlag = new Map(cmd.options.map((o) => [o.long?.replace(/^--/, ''), o]));
  const values: Parsed['values'] = {};
  for (const [name, o] of Object.entries(spec.options)) {
    const option = byFlag.get(name);
    let v = option === undefined ? undefined : (cmd.getOptionValue(option.attributeName()) as string | boolean | string[] | undefined);
    // commander reads a flag named --no-x as the negation of x (true unless given); here it is a plain boolean.
    if (option?.negate) v = v === false ? true : undefined;
    values[name] = v ?? o.default;
  }
  return { values, positionals: [...cmd.args] };
}

/**
 * The commander Command of a command module. `onResult` receives the exit
 * code of its run (commander's own action results are not returned).
 */
export function commandFromSpec(mod: CommandModule, onResult: (code: number) => void): Command {
  const { spec } = mod;
  const cmd = new Command(spec.name).description(spec.summary).usage(spec.usage.replace(new RegExp(`^mentionflow (\\S+ )?${spec.name}\\s*`), ''));
  for (const [name, o] of Object.entries(spec.options)) cmd.addOption(optionOf(name, o));
  if (spec.allowPositionals) cmd.argument(`[${spec.positionals ?? 'ARGS'}...]`);
  if (spec.positionalValues) POSITIONAL_VALUES.set(cmd, spec.positionalValues);
  if (spec.notes) cmd.addHelpText('after', `\n${spec.notes}`);
  for (const sub of mod.subcommands ?? []) cmd.addCommand(commandFromSpec(sub, onResult));
  if (mod.run) {
    const run = mod.run;
    cmd.action(async (...args: unknown[]) => onResult(await run(parsedOf(spec, args[args.length - 1] as Command))));
  }
  return cmd;
}

/** The --precision option of the commands that tag (the LSTM's products at inference). */
export const PRECISION_OPTION: OptionSpec = {
  type: 'string',
  arg: 'P',
  description: "the LSTM's products: float32; bfloat16 (native backend on a CPU with AVX512_BF16; about 1.2x as fast, the same dev F1 on the shipped model); or int8 (native backend on a CPU with AVX512_VNNI; about 1.5x as fast, dev F1 within 0.2 on the shipped model)",
  choices: INFERENCE_PRECISIONS,
  default: 'float32',
};
/** The --backend option of the commands that compute. */
export const BACKEND_OPTION: OptionSpec = { type: 'string', arg: 'NAME', description: 'compute backend', choices: BACKEND_CHOICES, default: 'auto' };

export function requireString(p: Parsed, name: string, command: string): string {
  const v = p.values[name];
  if (typeof v !== 'string' || v.length === 0) throw new ConfigError(`missing --${name}; run \`mentionflow ${command} --help\``);
  return v;
}

/** A required option naming an existing file (`kind` 'dir': an existing directory); ConfigError naming the flag and the path otherwise. */
export function requireFile(p: Parsed, name: string, command: string, kind: 'file' | 'dir' = 'file'): string {
  const path = requireString(p, name, command);
  checkPath(path, `--${name}`, kind);
  return path;
}

/** ConfigError unless `path` is an existing file (or directory); `what` names where it came from. */
export function checkPath(path: string, what: string, kind: 'file' | 'dir' = 'file'): void {
  if (!existsSync(path)) throw new ConfigError(`${what} ${path}: no such ${kind === 'dir' ? 'directory' : 'file'}`);
  const st = statSync(path);
  if (kind === 'file' && !st.isFile()) throw new ConfigError(`${what} ${path}: is ${st.isDirectory() ? 'a directory' : 'not a regular file'}, expected a file`);
  if (kind === 'dir' && !st.isDirectory()) throw new ConfigError(`${what} ${path}: is a file, expected a directory`);
}

/** A string option that must be one of `allowed`. */
export function oneOf<T extends string>(p: Parsed, name: string, allowed: readonly T[]): T {
  const v = p.values[name];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new ConfigError(`--${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
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
