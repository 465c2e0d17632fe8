/**
 * The public entry point sits on top: index.ts and api/ may import any
 * layer except the CLI, and no project code imports them (only tests and
 * examples do), so what is public is decided in one place.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../../cli/defaults.js';

const root = projectRoot();
const LAYERS = ['models', 'operators', 'pipeline', 'cli', 'common', 'schemas', 'bench', 'api'];

/** Relative import specifiers of a source file (static imports, re-exports, dynamic import()). */
function importsOf(source: string): string[] {
  const re = /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;
  return [...source.matchAll(re)].map((m) => m[1] ?? m[2] ?? m[3]);
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : name.endsWith('.ts') ? [p] : [];
  });
}

test('index.ts and api/ import no CLI code; nothing in the project imports them', () => {
  const violations: string[] = [];
  const files = [join(root, 'index.ts'), ...LAYERS.flatMap((d) => tsFiles(join(root, d)))];
  for (const abs of files) {
    const file = relative(root, abs);
    const publicSide = file === 'index.ts' || file.startsWith('api/');
    for (const spec of importsOf(readFileSync(abs, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = relative(root, resolve(dirname(abs), spec));
      if (publicSide && target.startsWith('cli/')) violations.push(`${file} imports ${spec}: the public API does not depend on the CLI`);
      if (!publicSide && (target === 'index.js' || target.startsWith('api/'))) violations.push(`${file} imports ${spec}: only tests and examples import the public entry point`);
    }
  }
  assert.ok(files.length > 50, `scanned ${files.length} files`);
  assert.deepEqual(violations, []);
});
