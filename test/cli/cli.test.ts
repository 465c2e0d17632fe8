/**
 * The command line explains itself: --version, suggestions for mistyped
 * commands and flags, a completion script that completes, and one line with
 * exit code 2 for user mistakes. Runs the built CLI as a user would; no
 * broker or model needed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultModelDir, projectRoot } from '../../cli/defaults.js';

const main = join(projectRoot(), 'dist', 'cli', 'main.js');
const work = mkdtempSync(join(tmpdir(), 'mf-cli-'));

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, MENTIONFLOW_BROKERS: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exit 2, nothing on stdout, exactly one line on stderr matching `re`. */
function mistake(args: string[], re: RegExp): string {
  const r = cli(...args);
  assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  assert.equal(r.stdout, '', args.join(' '));
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${args.join(' ')}: expected one line, got:\n${r.stderr}`);
  assert.match(lines[0], re, args.join(' '));
  assert.doesNotMatch(lines[0], /internal error/);
  return lines[0];
}

describe('mentionflow command line', () => {
  it('--version prints the version of package.json', () => {
    const { version } = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = cli(flag);
      assert.equal(r.status, 0);
      assert.equal(r.stdout.trim(), version);
    }
  });

  it('suggests the command or flag meant', () => {
    mistake(['rn'], /^mentionflow: unknown command 'rn' \(did you mean run\?\)/);
    mistake(['tagg', 'x'], /did you mean tag\?/);
    mistake(['run', '--input-topc', 'x'], /^mentionflow run: unknown option '--input-topc' \(did you mean --input-topic\?\); run `mentionflow run --help`/);
    mistake(['run', '--transactional-id', 'x'], /^mentionflow run: unknown option '--transactional-id': exactly-once now uses one transactional id per input partition.*--transactional-id-prefix/);
    mistake(['eval', '--dat', 'x'], /did you mean --data\?/);
  });

  it('help: the command list, and each command with its options', () => {
    const root = cli('--help');
    assert.equal(root.status, 0);
    for (const name of ['tag', 'eval', 'run', 'produce', 'tail', 'archive', 'completion']) assert.match(root.stdout, new RegExp(`^ {2}${name}\\b`, 'm'));
    const help = cli('help', 'tag');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--backend <NAME>/);
  });

  it('user mistakes: one line naming the flag or file, exit 2', () => {
    const notConll = join(work, 'not.conll');
    writeFileSync(notConll, 'this is not a CoNLL file\n');
    const badJson = join(work, 'bad.json');
    writeFileSync(badJson, '{"epochs": ');
    mistake(['eval', '--data', join(work, 'missing.conll')], /^mentionflow eval: --data .*missing\.conll: no such file$/);
    mistake(['eval', '--data', work], /^mentionflow eval: --data .*: no \*\.avro files under the directory \(a directory is read as an archive of Avro containers\)$/);
    mistake(['train-ner', '--train', join(work, 'missing'), '--dev', notConll, '--out', join(work, 'o')], /^mentionflow train-ner: --train .*missing: no such file$/);
    mistake(['train-ner', '--soft-lexicon', join(work, 'no-dict.txt'), '--train', notConll, '--dev', notConll, '--out', join(work, 'o')], /^mentionflow train-ner: --soft-lexicon .*no-dict\.txt: no such file$/);
    mistake(['train-joint', '--soft-lexicon', join(work, 'no-dict.txt'), '--ner-train', notConll, '--ner-dev', notConll, '--seg-train', notConll, '--seg-dev', notConll, '--out', join(work, 'o')], /^mentionflow train-joint: --soft-lexicon .*no-dict\.txt: no such file$/);
    mistake(['eval', '--data', notConll, '--model', join(projectRoot(), 'models', 'default')], /^mentionflow eval: .*not\.conll:1: /);
    mistake(['train-ner', '--config', badJson, '--train', notConll, '--dev', notConll, '--out', join(work, 'o')], /bad\.json is not a JSON object of options/);
    mistake(['tag', '--backend', 'gpu', 'x'], /^mentionflow tag: --backend must be one of auto, native, wasm, cpu, got "gpu"/);
    mistake(['tag', '--batch-size', 'many', 'x'], /^mentionflow tag: --batch-size must be an integer >= 1 <= 4096, got "many"$/);
    mistake(['tag', '--precision', 'half', 'x'], /^mentionflow tag: --precision must be one of float32, bfloat16, int8, got "half"/);
    mistake(['tag', '--backend', 'cpu', '--precision', 'int8', 'x'], /^mentionflow tag: precision int8 cannot run here: .*; use precision float32$/);
    mistake(['tag', '--backend', 'cpu', '--precision', 'bfloat16', 'x'], /^mentionflow tag: precision bfloat16 cannot run here: .*; use precision float32$/);
    mistake(['run', '--backend', 'cpu', '--precision', 'bfloat16'], /^mentionflow run: precision bfloat16 cannot run here: .*; use precision float32$/);
    // compare and promote score at the precision the workers run: the option reaches useInferencePrecision
    const dev = join(projectRoot(), 'test', 'fixtures', 'labels', 'products.dev.conll');
    mistake(['compare', '--candidate', defaultModelDir(), '--data', dev, '--backend', 'cpu', '--precision', 'int8'], /^mentionflow compare: precision int8 cannot run here: .*; use precision float32$/);
    mistake(['promote', '--store', join(work, 'store'), '--candidate', defaultModelDir(), '--data', dev, '--backend', 'cpu', '--precision', 'int8', '--dry-run'], /^mentionflow promote: precision int8 cannot run here: .*; use precision float32$/);
    mistake(['compare', '--candidate', defaultModelDir(), '--data', dev, '--precision', 'half'], /^mentionflow compare: --precision must be one of float32, bfloat16, int8, got "half"/);
    mistake(['run', '--batch-max-count', '0'], /--batch-max-count must be an integer 1\.\.4096, got 0/);
    mistake(['run', '--input', join(work, 'missing.ndjson')], /input file .*missing\.ndjson not found/);
    mistake(['completion', 'tcsh'], /completion takes one shell: bash or zsh, got "tcsh"/);
    const truncatedAvro = join(work, 'truncated.avro');
    writeFileSync(truncatedAvro, Buffer.from('Obj\x01garbage', 'latin1'));
    mistake(['run', '--input', truncatedAvro], /^mentionflow run: input file .*truncated\.avro: byte 0: the file ends inside, or has a corrupt, container header: /);
    mistake(['run', '--input', notConll, '--dead-letter-file', join(work, 'no', 'dir', 'dl.ndjson')], /^mentionflow run: folder of the dead-letter file .*: no such directory$/);
    mistake(['produce', '--brokers', '127.0.0.1:1', '--topic', 't', '--input', join(work, 'missing.ndjson')], /^mentionflow produce: --input .*missing\.ndjson: no such file$/);
    mistake(['archive', '--input', notConll, '--format', 'conll', '--output', join(work, 'no', 'dir', 'o.avro')], /^mentionflow archive: folder of --output .*: no such directory$/);
    mistake(['archive', '--follow', '--from-topic', 'posts', '--dir', work, '--brokers', '127.0.0.1:1', '--deflate-level', '0'], /^mentionflow archive: --deflate-level must be an integer >= 1 <= 9, got "0"$/);
    mistake(['archive', '--follow', '--from-topic', 'posts', '--dir', work, '--brokers', '127.0.0.1:1', '--deflate-strategy', 'fast'], /^mentionflow archive: --deflate-strategy must be one of default, huffman, rle, got "fast"$/);
    mistake(['archive', '--follow', '--from-topic', 'posts', '--dir', work, '--brokers', '127.0.0.1:1', '--deflate-engine', 'gzip'], /^mentionflow archive: --deflate-engine must be one of auto, isal, libdeflate, zlib, got "gzip"$/);
    mistake(['archive', '--follow', '--from-topic', 'posts', '--dir', work, '--brokers', '127.0.0.1:1', '--deflate-engine', 'libdeflate', '--deflate-strategy', 'huffman'], /^mentionflow archive: container deflate engine libdeflate has no strategies: use the default strategy, or engine zlib for huffman or rle$/);
    mistake(['tune', '--lambdas', '2'], /^mentionflow tune: --lambdas values must be numbers in \[0\.5, 1\], got "2"$/);
    mistake(['tune', '--corpora', join(work, 'nowhere')], /^mentionflow tune: --corpora .*nowhere: no such directory$/);
    mistake(['topics', 'creat'], /^mentionflow topics: unknown command 'creat' \(did you mean create\?\)/);
    mistake(['topics', 'describe'], /^mentionflow topics describe: no Kafka brokers: pass --brokers/);
  });

  it('a reader that goes away (| head) ends the output quietly; a command group alone shows its help, exit 2', () => {
    // `true` reads nothing and is gone long before node has started, so the help's write meets a closed pipe (EPIPE)
    const r = spawnSync('bash', ['-c', `set -o pipefail; ${JSON.stringify(process.execPath)} ${JSON.stringify(main)} --help | true`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    const topics = cli('topics');
    assert.equal(topics.status, 2);
    assert.match(topics.stderr, /Commands:\n {2}create .*\n[\s\S]* {2}describe /);
  });

  it('bash completion completes commands, subcommand flags and flag values', (t) => {
    const script = cli('completion', 'bash');
    assert.equal(script.status, 0);
    const file = join(work, 'completion.bash');
    writeFileSync(file, script.stdout);
    const complete = (...words: string[]): string[] => {
      const cmd = `source ${JSON.stringify(file)}; COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')}); COMP_CWORD=${words.length - 1}; _mentionflow_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8', cwd: work });
      if (r.error) throw r.error;
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.split('\n').filter((s) => s !== '');
    };
    if (spawnSync('bash', ['--version']).status !== 0) {
      t.skip('no bash on this machine');
      return;
    }
    assert.deepEqual(complete('mentionflow', 'ta'), ['tag', 'tail']);
    assert.deepEqual(complete('mentionflow', 'tag', '--ba'), ['--batch-size', '--backend']);
    assert.deepEqual(complete('mentionflow', 'tag', '--backend', 'n'), ['native']);
    assert.deepEqual(complete('mentionflow', 'run', '--delivery', ''), ['at-least-once', 'exactly-once']);
    assert.ok(complete('mentionflow', 'run', '--').includes('--input-topic'));
    assert.deepEqual(complete('mentionflow', 'topics', ''), ['create', 'describe']);
    assert.deepEqual(complete('mentionflow', 'topics', 'create', '--upd'), ['--update']);
    assert.deepEqual(complete('mentionflow', 'completion', ''), ['bash', 'zsh']);
    assert.deepEqual(complete('mentionflow', 'help', 'tr'), ['train-ner', 'train-joint', 'trends']);
    assert.ok(complete('mentionflow', 'eval', '--data', 'comp').includes('completion.bash'), 'file names after a flag that takes a file');
  });
});
