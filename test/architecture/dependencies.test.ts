/**
 * Keeps the dependency arrows honest: scans every TypeScript source for its
 * imports and fails on an import that crosses a forbidden boundary.
 *   - models/ imports neither rxjs nor kafkajs nor prom-client, nor the
 *     streaming or CLI code;
 *   - kafkajs is imported only at the Kafka edges (pipeline/kafka/), and by
 *     the benchmarks, whose bare kafkajs loop is the transport ceiling;
 *   - operators/ never imports kafkajs, prom-client or pipeline code;
 *   - the training pipeline (pipeline/train/) never imports the streaming
 *     runtime (pipeline/stream/, operators/);
 *   - common/ and schemas/ sit at the bottom.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../../cli/defaults.js';

const root = projectRoot();
const SOURCE_DIRS = ['models', 'operators', 'pipeline', 'cli', 'common', 'schemas', 'bench'];

function tsFiles(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(tsFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Import specifiers of a file: static imports, re-exports and dynamic import(). */
export function importsOf(source: string): string[] {
  const specs: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;
  for (const m of source.matchAll(re)) specs.push(m[1] ?? m[2] ?? m[3]);
  return specs;
}

interface Rule {
  name: string;
  applies: (file: string) => boolean;
  forbidden: (spec: string, target: string | undefined) => boolean;
}

const under = (p: string, dir: string) => p === dir || p.startsWith(dir + '/');
const pkg = (spec: string, name: string) => spec === name || spec.startsWith(name + '/');

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

test('dependency rules hold for every source file', () => {
  const violations: string[] = [];
  let files = 0;
  for (const dir of SOURCE_DIRS) {
    let list: string[] = [];
    try {
      list = tsFiles(join(root, dir));
    } catch {
      continue;
    }
    for (const abs of list) {
      files += 1;
      const file = relative(root, abs);
      for (const spec of importsOf(readFileSync(abs, 'utf8'))) {
        const target = spec.startsWith('.') ? relative(root, resolve(dirname(abs), spec)) : undefined;
        for (const rule of RULES) if (rule.applies(file) && rule.forbidden(spec, target)) violations.push(`${file} imports ${spec}: ${rule.name}`);
      }
    }
  }
  assert.ok(files > 50, `expected to scan the sources, scanned ${files} files`);
  assert.deepEqual(violations, []);
});

test('the import scanner sees static, re-export and dynamic imports', () => {
  const src = "import * as tf from '@tensorflow/tfjs';\nexport { x } from './x.js';\nconst k = await import('kafkajs');\nimport 'side-effect';";
  assert.deepEqual(importsOf(src), ['@tensorflow/tfjs', './x.js', 'kafkajs', 'side-effect']);
});
