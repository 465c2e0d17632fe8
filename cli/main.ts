#!/usr/bin/env node
/**
 * The `mentionflow` command: dispatches to one subcommand per file under
 * cli/commands/. Errors of the project's hierarchy print as one line and
 * exit non-zero; anything else is reported as an internal error (with the
 * stack only when MENTIONFLOW_DEBUG=1).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MentionflowError } from '../common/errors.js';
import { helpText, parseCommand, type CommandSpec, type Parsed } from './args.js';
import * as archive from './commands/archive.js';
import * as evalCmd from './commands/evalCmd.js';
import * as experiment from './commands/experiment.js';
import * as produce from './commands/produce.js';
import * as pretrainEmbeddings from './commands/pretrainEmbeddings.js';
import * as runCmd from './commands/run.js';
import * as tag from './commands/tag.js';
import * as tail from './commands/tail.js';
import * as trainJoint from './commands/trainJoint.js';
import * as trainNer from './commands/trainNer.js';
import * as tune from './commands/tune.js';
import { projectRoot } from './defaults.js';

interface Command {
  spec: CommandSpec;
  run(p: Parsed): Promise<number>;
}

const COMMANDS: Command[] = [tag, evalCmd, trainNer, trainJoint, pretrainEmbeddings, experiment, tune, runCmd, produce, tail, archive];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.spec.name.length)) + 2;
  return [
    'mentionflow: entity mentions in Chinese social media, in real time',
    '',
    'usage: mentionflow COMMAND [options]    (mentionflow COMMAND --help for its options)',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.spec.name.padEnd(width)}${c.spec.summary}`),
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    const { version } = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string };
    process.stdout.write(`${version}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.spec.name === name);
  if (!command) {
    process.stderr.write(`mentionflow: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    const parsed = parseCommand(command.spec, rest);
    if (parsed === 'help') {
      process.stdout.write(helpText(command.spec));
      return 0;
    }
    return await command.run(parsed);
  } catch (err) {
    if (err instanceof MentionflowError) {
      process.stderr.write(`mentionflow ${name}: ${err.message}\n`);
      if (process.env.MENTIONFLOW_DEBUG === '1') process.stderr.write(`${err.stack}\n`);
      return err.exitCode;
    }
    process.stderr.write(`mentionflow ${name}: internal error: ${(err as Error)?.message ?? err}\n`);
    if (process.env.MENTIONFLOW_DEBUG === '1') process.stderr.write(`${(err as Error)?.stack}\n`);
    else process.stderr.write('set MENTIONFLOW_DEBUG=1 for the stack trace, and please report it\n');
    return 70;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`mentionflow: ${String(err)}\n`);
    process.exitCode = 70;
  },
);
