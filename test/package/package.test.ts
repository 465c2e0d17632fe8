/**
 * The package as users get it: `npm pack`, installed into a temporary
 * project (installPackage.ts: offline, from the npm cache), imported by name,
 * the examples/ programs type-checked with tsc against its declarations and
 * run; and the `mentionflow` command installed into a temporary prefix.
 * Needs `npm run build` first (the tarball holds dist/).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { projectRoot } from '../../cli/defaults.js';
import { packAndInstall, run, type InstalledPackage } from './installPackage.js';

const root = projectRoot();
let installed: InstalledPackage;
let examplesOut: string;

before(() => {
  installed = packAndInstall();
});

after(() => {
  if (installed && process.env.MENTIONFLOW_KEEP_TMP !== '1') rmSync(dirname(installed.dir), { recursive: true, force: true });
});

interface JsonLine {
  [key: string]: any;
}

function lines(stdout: string): JsonLine[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as JsonLine);
}

/** Runs a compiled example, returning stdout and stderr (it must exit 0). */
function runWithStderr(script: string, ...args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [script, ...args], { cwd: installed.dir, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** A mention's offsets point at its text, in code points and in UTF-16 units. */
function assertSpans(text: string, mention: JsonLine): void {
  assert.equal(text.slice(mention.start_utf16, mention.end_utf16), mention.text);
  assert.equal([...text].slice(mention.start, mention.end).join(''), mention.text);
}

test('the tarball ships the build, declarations, schemas and the default model, and no tests or sources', () => {
  const files = run('tar', ['-tzf', installed.tarball], root).split('\n');
  for (const f of ['package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/cli/main.js', 'package/schemas/post/v1.avsc', 'package/models/default/weights.bin', 'package/models/default/manifest.json']) {
    assert.ok(files.includes(f), `${f} missing from the tarball`);
  }
  const unwanted = files.filter((f) => /^package\/(dist\/(test|bench)\/|test\/|bench\/|.*\.ts$(?<!\.d\.ts$))/.test(f) && !f.startsWith('package/examples/'));
  assert.deepEqual(unwanted, []);
});

test('imported by name: the public API, and nothing internal', () => {
  const probe = `
    const m = await import('mentionflow');
    let deep = 'importable';
    try { await import('mentionflow/dist/models/tagger.js'); } catch (e) { deep = e.code; }
    console.log(JSON.stringify({ exports: Object.keys(m).sort(), deep }));`;
  const out = JSON.parse(run(process.execPath, ['--input-type=module', '-e', probe], installed.dir)) as { exports: string[]; deep: string };
  for (const name of ['loadTagger', 'NeuralTagger', 'postItems', 'postSource', 'callbackSink', 'mentionStream', 'decodePosts', 'batchItems', 'tagBatch', 'toMentions', 'encodeOutputs', 'FileSource', 'FileSink', 'openKafkaEdges', 'workerConfig', 'startWorker', 'trainNer', 'MentionflowError']) {
    assert.ok(out.exports.includes(name), `${name} is not exported`);
  }
  // Internals stay internal: the operators' helpers, the Kafka classes, the CLI.
  for (const name of ['failItem', 'withValue', 'KafkaSource', 'main', 'checkOptionsObject']) assert.ok(!out.exports.includes(name), `${name} should not be exported`);
  assert.equal(out.deep, 'ERR_PACKAGE_PATH_NOT_EXPORTED');
});

test('the examples type-check against the installed declarations (tsc)', () => {
  const dir = join(installed.dir, 'examples');
  cpSync(join(root, 'examples'), dir, { recursive: true, filter: (src) => !src.includes(`${'/'}out`) });
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], installed.dir);
  examplesOut = join(dir, 'out');
  const compiled = readdirSync(examplesOut).filter((f) => f.endsWith('.js')).sort();
  assert.deepEqual(compiled, ['files.js', 'operators.js', 'stream.js', 'tag.js', 'train.js']);
});

test('examples/tag: two lines of library use tag texts', () => {
  const out = lines(run(process.execPath, [join(examplesOut, 'tag.js'), '我在北京见到了张三', '今天上海下雨了'], installed.dir));
  assert.deepEqual(out.map((l) => l.text), ['我在北京见到了张三', '今天上海下雨了']);
  for (const l of out) for (const m of l.mentions) assertSpans(l.text, m);
  assert.ok(out[0].mentions.some((m: JsonLine) => m.text === '北京' && m.label === 'GPE.NAM'), JSON.stringify(out[0]));
  assert.ok(out[1].mentions.some((m: JsonLine) => m.text === '上海' && m.label === 'GPE.NAM'), JSON.stringify(out[1]));
});

test('examples/operators: plain posts through the operators; an invalid post becomes a failed item', () => {
  const out = lines(run(process.execPath, [join(examplesOut, 'operators.js')], installed.dir));
  assert.equal(out.length, 3);
  assert.deepEqual(out.slice(0, 2).map((l) => l.ok?.post_id), ['1', '2']);
  assert.ok(out[0].ok.mentions.some((m: JsonLine) => m.text === '北京'));
  assert.deepEqual(out[0].ok.origin, { topic: 'memory:posts', partition: 0, offset: 0 });
  assert.equal(out[2].failed?.offset, '2');
  assert.equal(out[2].failed.stage, 'decode');
  assert.match(out[2].failed.error, /author_id/);
});

test('examples/stream: mentionStream from plain posts to a callback sink', () => {
  const out = lines(run(process.execPath, [join(examplesOut, 'stream.js')], installed.dir));
  const records = out.filter((l) => l.mentions).map((l) => l.mentions);
  assert.deepEqual(records.map((r) => r.post_id), ['1', '2', '3']);
  assert.ok(records[0].mentions.some((m: JsonLine) => m.text === '北京'));
  assert.deepEqual(records[2].mentions, [], 'an empty text has no mentions');
  for (const r of records) assert.equal(r.model.id, 'weibo-ner-joint');
});

test('examples/files: a posts file in, mention records on stdout, dead letters on stderr', () => {
  const file = join(installed.dir, 'posts.ndjson');
  const posts = [
    { id: 'p1', text: '我在北京见到了张三', author_id: 'u1', created_at: 1, source: 'weibo' },
    { id: 'p2', text: '今天上海下雨了', author_id: 'u2', created_at: 2, source: 'weibo' },
  ];
  writeFileSync(file, `${JSON.stringify(posts[0])}\n${JSON.stringify(posts[1])}\n`);
  const out = execFileSync(process.execPath, [join(examplesOut, 'files.js'), file], { cwd: installed.dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const records = lines(out);
  assert.deepEqual(records.map((r) => r.post_id), ['p1', 'p2']);
  assert.ok(records[0].mentions.some((m: JsonLine) => m.text === '北京'));
  const usage = (() => {
    try {
      execFileSync(process.execPath, [join(examplesOut, 'files.js')], { cwd: installed.dir, stdio: 'pipe' });
      return 0;
    } catch (err) {
      return (err as { status: number }).status;
    }
  })();
  assert.equal(usage, 2);
});

test('examples/files: dead letters name the line and the field', () => {
  const file = join(installed.dir, 'bad.ndjson');
  writeFileSync(file, '{"id": "p3", "text": "no author", "created_at": 1, "source": "weibo"}\nnot json\n');
  const result = runWithStderr(join(examplesOut, 'files.js'), file);
  assert.equal(result.stdout.trim(), '');
  const dead = lines(result.stderr.split('\n').filter((l) => l.startsWith('{')).join('\n'));
  assert.equal(dead.length, 2);
  assert.match(dead[0].error_message, /line 1: .*author_id/);
  assert.match(dead[1].error_message, /line 2: not JSON/);
});

test('examples/train: trains, saves, reloads (same scores), and serves a model', () => {
  const out = lines(run(process.execPath, [join(examplesOut, 'train.js'), join(installed.dir, 'train-run')], installed.dir));
  assert.equal(out.length, 3);
  const [trained, reloaded, tagged] = out;
  assert.ok(trained.trainF1 >= 0 && trained.trainF1 <= 100, JSON.stringify(trained)); // F1 in percent
  assert.equal(reloaded.reloadedF1, trained.trainF1, 'the saved model scores as the best epoch did');
  assert.ok(existsSync(join(installed.dir, 'train-run', 'model', 'manifest.json')));
  for (const m of tagged.mentions) assertSpans(tagged.text, m);
});

test('the mentionflow command installs into a prefix and runs (--version, tag)', () => {
  const prefix = join(dirname(installed.dir), 'prefix');
  // A global install of the unpacked package (what `npm link` does): its dependencies are those installed beside it.
  run('npm', ['install', '--global', '--prefix', prefix, '--offline', '--ignore-scripts', '--no-audit', '--no-fund', join(installed.dir, 'node_modules', installed.name)], installed.dir);
  const bin = join(prefix, 'bin', 'mentionflow');
  assert.ok(existsSync(bin), `${bin} was not created`);
  assert.equal(run(bin, ['--version'], installed.dir).trim(), installed.version);
  const tagged = lines(run(bin, ['tag', '--json', '我在北京见到了张三'], installed.dir));
  assert.equal(tagged.length, 1);
  assert.ok(tagged[0].mentions.some((m: JsonLine) => m.text === '北京'), JSON.stringify(tagged[0]));
  assert.match(run(bin, ['tag', '我在北京见到了张三'], installed.dir), /北京/);
});
