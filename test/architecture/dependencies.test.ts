/**
 * Keeps the dependency arrows honest: reads every TypeScript source's imports
 * (importGraph.ts) and fails on an import that crosses a forbidden boundary.
 *   - models/ imports neither rxjs nor kafkajs nor prom-client, nor the
 *     streaming or CLI code;
 *   - kafkajs is imported only at the Kafka edges (pipeline/kafka/), and by
 *     the benchmarks, whose bare kafkajs loop is the transport ceiling;
 *   - operators/ never imports kafkajs, prom-client or pipeline code;
 *   - the training pipeline (pipeline/train/) never imports the streaming
 *     runtime (pipeline/stream/, operators/);
 *   - common/ and schemas/ sit at the bottom;
 *   - pipeline/'s folders are layers, imports pointing down only
 *     (PIPELINE_LAYERS): the worker wiring (stream/) on top, the Kafka and
 *     file edges below it (neither imports the other), the ports, offset
 *     tracking and write coalescing (core/) and logging/metrics (ops/) at
 *     the bottom;
 *   - the schema registry's concerns import each other one way
 *     (REGISTRY_LAYERS): load <- decode, validate <- encode;
 *   - no import cycle anywhere, between files of any folder.
 * The README's Layout section shows pipeline/'s graph; a test below fails
 * when it is stale.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../../cli/defaults.js';
import { folderGraphMermaid, importCycles, importEdges, importsOf, type ImportEdge } from './importGraph.js';

const root = projectRoot();

interface Rule {
  name: string;
  applies: (file: string) => boolean;
  forbidden: (spec: string, target: string | undefined) => boolean;
}

const under = (p: string, dir: string) => p === dir || p.startsWith(dir + '/');
const pkg = (spec: string, name: string) => spec === name || spec.startsWith(name + '/');

/**
 * pipeline/'s folders, each with the pipeline folders it may import (its
 * own aside): imports point down only. A new folder under pipeline/ must be
 * placed here.
 */
export const PIPELINE_LAYERS: Readonly<Record<string, readonly string[]>> = {
  // bottom: cross-cutting logging and metrics; the ports and what every edge builds on
  'pipeline/ops': [],
  'pipeline/core': [],
  // the edges, side by side
  'pipeline/kafka': ['pipeline/core', 'pipeline/ops'],
  'pipeline/file': ['pipeline/core', 'pipeline/ops'],
  // top: the worker wiring
  'pipeline/stream': ['pipeline/core', 'pipeline/ops', 'pipeline/kafka', 'pipeline/file'],
  // offline training: may replay a topic (kafka/replay.ts), never the streaming runtime
  'pipeline/train': ['pipeline/ops', 'pipeline/kafka'],
};

const RULES: Rule[] = [
  {
    name: 'models/ imports neither rxjs, kafkajs, prom-client nor streaming/CLI code',
    applies: (f) => under(f, 'models'),
    forbidden: (s, t) => pkg(s, 'rxjs') || pkg(s, 'kafkajs') || pkg(s, 'prom-client') || (t !== undefined && ['operators', 'pipeline', 'cli'].some((d) => under(t, d))),
  },
  {
    name: 'kafkajs only in pipeline/kafka/ (and bench/)',
    applies: (f) => !under(f, 'pipeline/kafka') && !under(f, 'bench'),
    forbidden: (s) => pkg(s, 'kafkajs'),
  },
  {
    name: 'operators/ never import kafkajs, prom-client, pipeline or CLI code',
    applies: (f) => under(f, 'operators'),
    forbidden: (s, t) => pkg(s, 'prom-client') || (t !== undefined && ['pipeline', 'cli'].some((d) => under(t, d))),
  },
  {
    name: 'the training pipeline never imports the streaming runtime',
    applies: (f) => under(f, 'pipeline/train'),
    forbidden: (_s, t) => t !== undefined && (under(t, 'pipeline/stream') || under(t, 'operators')),
  },
  {
    name: 'common/ and schemas/ import no project layer above them',
    applies: (f) => under(f, 'common') || under(f, 'schemas'),
    forbidden: (_s, t) => t !== undefined && ['models', 'operators', 'pipeline', 'cli'].some((d) => under(t, d)),
  },
];

/**
 * The schema registry's concerns (schemas/registry/, each module with the
 * modules it may import): decoding needs the loader; the trusted readers
 * the generators' builder (generated.ts); the compiled writers that and the
 * validator's wire rules; encoding the validator and the writers; nothing
 * else. schemas/registry.ts puts them together.
 */
export const REGISTRY_LAYERS: Readonly<Record<string, readonly string[]>> = {
  'schemas/registry/load.ts': [],
  'schemas/registry/validate.ts': [],
  'schemas/registry/decode.ts': ['schemas/registry/load.ts'],
  'schemas/registry/generated.ts': [],
  'schemas/registry/reader.ts': ['schemas/registry/generated.ts'],
  'schemas/registry/writer.ts': ['schemas/registry/validate.ts', 'schemas/registry/generated.ts'],
  'schemas/registry/encode.ts': ['schemas/registry/validate.ts', 'schemas/registry/writer.ts'],
};

/** Folders (or files) under a prefix whose imports among each other follow a table. */
const LAYERED = [
  { prefix: 'pipeline', table: 'PIPELINE_LAYERS', allowed: PIPELINE_LAYERS, none: 'no other pipeline folder' },
  { prefix: 'schemas/registry', table: 'REGISTRY_LAYERS', allowed: REGISTRY_LAYERS, none: 'no other registry module' },
];

/** The folder or file right under `prefix` that `path` is in (`pipeline/kafka` for `pipeline/kafka/source.ts`), or undefined. */
function unitOf(path: string, prefix: string): string | undefined {
  if (!path.startsWith(prefix + '/')) return undefined;
  return `${prefix}/${path.slice(prefix.length + 1).split('/')[0]}`;
}

/** Why an import breaks one of the LAYERED tables, or undefined. */
function layerViolation(file: string, target: string | undefined): string | undefined {
  for (const { prefix, table, allowed, none } of LAYERED) {
    const from = unitOf(file, prefix);
    if (from === undefined) continue;
    const may = allowed[from];
    if (may === undefined) return `${file}: ${from} is not placed in ${table}`;
    const to = target === undefined ? undefined : unitOf(target, prefix);
    if (to === undefined || to === from || may.includes(to)) return undefined;
    return `${file} imports ${target}: ${from} may import ${may.length > 0 ? `only ${may.join(', ')}` : none} (${table})`;
  }
  return undefined;
}

/** Every broken rule among these imports, one line each. */
export function violations(edges: readonly ImportEdge[]): string[] {
  const out = new Set<string>();
  for (const { file, spec, target } of edges) {
    for (const rule of RULES) if (rule.applies(file) && rule.forbidden(spec, target)) out.add(`${file} imports ${spec}: ${rule.name}`);
    const layer = layerViolation(file, target);
    if (layer !== undefined) out.add(layer);
  }
  for (const cycle of importCycles(edges)) out.add(`import cycle: ${cycle.join(' <-> ')}`);
  return [...out];
}

test('dependency rules hold for every source file', () => {
  const edges = importEdges(root);
  const files = new Set(edges.map((e) => e.file)).size;
  assert.ok(files > 50, `expected to scan the sources, scanned ${files} files`);
  assert.deepEqual(violations(edges), []);
});

/** Lines of `source` importing kafkajs values (type-only imports aside). */
export function kafkajsValueImports(source: string): string[] {
  return [...source.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s*['"]kafkajs['"]|^\s*import\s*['"]kafkajs['"]|import\(\s*['"]kafkajs['"]\s*\)/gm)].map((m) => m[0].trim());
}

test('kafkajs values are imported only through pipeline/kafka/kafkajs.ts, which puts the kafkajs fix in place first', () => {
  const offenders = importEdges(root, ['pipeline', 'cli', 'operators', 'models', 'common', 'schemas'])
    .filter((e) => pkg(e.spec, 'kafkajs') && e.file !== 'pipeline/kafka/kafkajs.ts')
    .map((e) => e.file)
    .filter((file, i, all) => all.indexOf(file) === i)
    .filter((file) => kafkajsValueImports(readFileSync(join(root, file), 'utf8')).length > 0);
  assert.deepEqual(offenders, []);
  assert.deepEqual(kafkajsValueImports("import type { Kafka } from 'kafkajs';\nimport kafkajs from './kafkajs.js';"), []);
  assert.deepEqual(kafkajsValueImports("import type { A } from 'kafkajs';\nimport { Kafka, type B } from 'kafkajs';\nconst k = await import('kafkajs');"), ["import { Kafka, type B } from 'kafkajs'", "import('kafkajs')"]);
});

test('the rules catch what they forbid', () => {
  const e = (file: string, target: string): ImportEdge => ({ file, spec: './x.js', target });
  const found = violations([
    // an edge reaching up into the wiring, and the wiring's import of it: also a cycle
    e('pipeline/kafka/source.ts', 'pipeline/stream/worker.ts'),
    e('pipeline/stream/worker.ts', 'pipeline/kafka/source.ts'),
    // one edge importing the other, the bottom importing an edge, an unplaced folder
    e('pipeline/file/fileSink.ts', 'pipeline/kafka/sink.ts'),
    e('pipeline/core/ports.ts', 'pipeline/file/fileSource.ts'),
    e('pipeline/extra/thing.ts', 'pipeline/core/ports.ts'),
    // the loader needing the decoder
    e('schemas/registry/load.ts', 'schemas/registry/decode.ts'),
    { file: 'operators/tagBatch.ts', spec: 'kafkajs' },
  ]);
  assert.deepEqual(found, [
    'pipeline/kafka/source.ts imports pipeline/stream/worker.ts: pipeline/kafka may import only pipeline/core, pipeline/ops (PIPELINE_LAYERS)',
    'pipeline/file/fileSink.ts imports pipeline/kafka/sink.ts: pipeline/file may import only pipeline/core, pipeline/ops (PIPELINE_LAYERS)',
    'pipeline/core/ports.ts imports pipeline/file/fileSource.ts: pipeline/core may import no other pipeline folder (PIPELINE_LAYERS)',
    'pipeline/extra/thing.ts: pipeline/extra is not placed in PIPELINE_LAYERS',
    'schemas/registry/load.ts imports schemas/registry/decode.ts: schemas/registry/load.ts may import no other registry module (REGISTRY_LAYERS)',
    'operators/tagBatch.ts imports kafkajs: kafkajs only in pipeline/kafka/ (and bench/)',
    'import cycle: pipeline/kafka/source.ts <-> pipeline/stream/worker.ts',
  ]);
});

test('the import scanner sees static, re-export and dynamic imports', () => {
  const src = "import * as tf from '@tensorflow/tfjs';\nexport { x } from './x.js';\nconst k = await import('kafkajs');\nimport 'side-effect';";
  assert.deepEqual(importsOf(src), ['@tensorflow/tfjs', './x.js', 'kafkajs', 'side-effect']);
});

test("the README's graph of pipeline/ is the one the sources give, and the one its command prints", () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = /<!-- pipeline-graph -->\n```mermaid\n([\s\S]*?)\n```/.exec(readme);
  assert.ok(block, 'README.md has no <!-- pipeline-graph --> mermaid block');
  assert.equal(block[1], folderGraphMermaid(importEdges(root), 'pipeline'), 'stale: paste the output of `node dist/test/architecture/importGraph.js pipeline` into README.md');
  // The command the README gives (run as a program: without the test runner's marker variable).
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const printed = execFileSync(process.execPath, [join(root, 'dist/test/architecture/importGraph.js'), 'pipeline'], { env, encoding: 'utf8' });
  assert.equal(printed, `${block[1]}\n`);
});
