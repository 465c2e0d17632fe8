/**
 * The command tree of `mentionflow` (commander, built from each command's
 * option table in cli/args.ts) and `main`, which runs it and turns every
 * error into one line and an exit code:
 *
 *   0   done (also --help, --version)
 *   2   a user mistake: an unknown command or flag (with a suggestion), a bad
 *       or missing value, a missing, unreadable or malformed input file; the
 *       line names the flag or the file
 *   1   a failure the user did not cause directly (Kafka unreachable, a
 *       corrupt model artifact)
 *   70  a bug: "internal error", with the stack when MENTIONFLOW_DEBUG=1
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { MentionflowError } from '../common/errors.js';
import { commandFromSpec, type CommandModule } from './args.js';
import * as archive from './commands/archive.js';
import * as compare from './commands/compare.js';
import * as dashboard from './commands/dashboard.js';
import * as calibrate from './commands/calibrate.js';
import * as ensemble from './commands/ensemble.js';
import * as distil from './commands/distil.js';
import * as evalCmd from './commands/evalCmd.js';
import * as experiment from './commands/experiment.js';
import * as produce from './commands/produce.js';
import * as promote from './commands/promote.js';
import * as pretrainEmbeddings from './commands/pretrainEmbeddings.js';
import * as runCmd from './commands/run.js';
import * as segment from './commands/segment.js';
import * as tag from './commands/tag.js';
import * as tail from './commands/tail.js';
import * as topics from './commands/topics.js';
import * as trainJoint from './commands/trainJoint.js';
import * as trainNer from './commands/trainNer.js';
import * as trends from './commands/trends.js';
import * as tune from './commands/tune.js';
import * as completion from './completion.js';
import { projectRoot } from './defaults.js';
import { userMistake } from './userErrors.js';

const COMMANDS: CommandModule[] = [tag, segment, evalCmd, calibrate, ensemble, distil, compare, promote, trainNer, trainJoint, pretrainEmbeddings, experiment, tune, runCmd, topics, produce, tail, archive, trends, dashboard];

/** The package's version, from its package.json. */
export function version(): string {
  return (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** The command tree; `onResult` receives the exit code of the command that ran. */
export function program(onResult: (code: number) => void = () => undefined): Command {
  const root = new Command('mentionflow')
    .description('entity mentions in Chinese social media, in real time')
    .usage('COMMAND [options]    (mentionflow COMMAND --help for its options)')
    .version(version(), '-V, --version', 'print the version and exit')
    .helpCommand('help [COMMAND]', 'show the help of a command')
    .showSuggestionAfterError(true)
    .exitOverride();
  for (const mod of COMMANDS) root.addCommand(commandFromSpec(mod, onResult));
  root.addCommand(
    commandFromSpec(
      {
        spec: completion.spec,
        run: async (p) => {
          process.stdout.write(completion.completionScript(root, p));
          return 0;
        },
      },
      onResult,
    ),
  );
  // Errors are printed once, as one line, by main(); commander's own output of them is dropped.
  const quiet = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({ outputError: () => undefined });
    cmd.commands.forEach(quiet);
  };
  quiet(root);
  return root;
}

/** Options that were renamed or replaced: what to say instead of commander's bare "unknown option". */
const REPLACED_OPTIONS: Record<string, string> = {
  '--transactional-id':
    'exactly-once now uses one transactional id per input partition, <prefix>-<topic>-<partition>, the same for every worker of the group: drop it, or set --transactional-id-prefix (default: the group id)',
};

/** commander's parse error as one line: "unknown option '--inpt' (Did you mean --input?)" -> "unknown option '--inpt' (did you mean --input?)". */
function parseErrorLine(err: CommanderError): string {
  const replaced = /^error: unknown option '([^']+)'/.exec(err.message)?.[1];
  if (replaced !== undefined && REPLACED_OPTIONS[replaced] !== undefined) return `unknown option '${replaced}': ${REPLACED_OPTIONS[replaced]}`;
  return err.message
    .replace(/^error: /, '')
    .replace(/^option '(\S+)[^']*' argument '(.*)' is invalid\. Allowed choices are (.*)\.$/s, (_m, flag: string, got: string, allowed: string) => `${flag} must be one of ${allowed}, got ${JSON.stringify(got)}`)
    .replace(/\n\(Did you mean/g, ' (did you mean')
    .replace(/\s*\n\s*/g, ' ');
}

/** The subcommand path argv names, for messages: "run", "topics create". */
function commandPath(argv: string[], root: Command): string {
  const path: string[] = [];
  let cmd: Command | undefined = root;
  for (const word of argv) {
    cmd = cmd?.commands.find((c) => c.name() === word);
    if (cmd === undefined) break;
    path.push(word);
  }
  return path.join(' ');
}

export async function main(argv: string[]): Promise<number> {
  // `mentionflow ... | head`: the reader has gone, so stop quietly
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  let code = 0;
  const root = program((c) => (code = c));
  const name = commandPath(argv, root);
  const prefix = name === '' ? 'mentionflow' : `mentionflow ${name}`;
  if (argv.length === 0) {
    process.stdout.write(root.helpInformation());
    return 2;
  }
  try {
    await root.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end the parse with exit code 0
      if (err.exitCode === 0) return 0;
      // a command group without its subcommand (`mentionflow topics`), or help for an unknown command: the help was shown
      if (err.code === 'commander.help') return 2;
      const help = name === '' ? 'run `mentionflow --help` for the commands' : `run \`mentionflow ${name} --help\` for the options`;
      process.stderr.write(`${prefix}: ${parseErrorLine(err)}; ${help}\n`);
      return 2;
    }
    const mistake = err instanceof MentionflowError ? undefined : userMistake(err);
    if (err instanceof MentionflowError || mistake !== undefined) {
      process.stderr.write(`${prefix}: ${mistake?.message ?? (err as Error).message}\n`);
      if (process.env.MENTIONFLOW_DEBUG === '1') process.stderr.write(`${(err as Error).stack}\n`);
      return mistake?.exitCode ?? (err as MentionflowError).exitCode;
    }
    process.stderr.write(`${prefix}: internal error: ${(err as Error)?.message ?? err}\n`);
    if (process.env.MENTIONFLOW_DEBUG === '1') process.stderr.write(`${(err as Error)?.stack}\n`);
    else process.stderr.write('set MENTIONFLOW_DEBUG=1 for the stack trace, and please report it\n');
    return 70;
  }
}
