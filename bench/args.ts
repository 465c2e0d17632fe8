/**
 * Command-line parsing shared by the benchmark scripts: `--help` prints the
 * script's header comment (what it measures and its usage) and exits 0; an
 * unknown or malformed option prints the error and a pointer to --help and
 * exits 2, without a stack trace.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The leading doc comment of the script at `moduleUrl`, without its comment markers. */
export function headerComment(moduleUrl: string): string {
  const text = readFileSync(fileURLToPath(moduleUrl), 'utf8');
  const m = /^\s*\/\*\*([\s\S]*?)\*\//.exec(text);
  if (!m) return '';
  return m[1]
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}

/** Parses process.argv for the script at `moduleUrl` (pass import.meta.url). */
export function benchArgs<O extends Options>(moduleUrl: string, options: O): ReturnType<typeof parseArgs<{ options: O }>>['values'] {
  if (process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
    process.stdout.write(`${headerComment(moduleUrl)}\n`);
    process.exit(0);
  }
  try {
    return parseArgs({ options }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n(run with --help for the options)\n`);
    process.exit(2);
  }
}

/**
 * The value of a `--node-flags="..."` option: node/V8 flags for the
 * measurement processes, split on spaces (none when absent). A word that is
 * not a flag is an error saying how to pass them.
 */
export function nodeFlagsArg(value: string | undefined): string[] {
  const flags = (value ?? '').split(/\s+/).filter((f) => f !== '');
  const bad = flags.find((f) => !f.startsWith('-'));
  if (bad !== undefined) throw new Error(`--node-flags: "${bad}" is not a flag; pass node or V8 flags, e.g. --node-flags="--trace-deopt --max-semi-space-size=32"`);
  return flags;
}
