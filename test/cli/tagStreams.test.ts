/**
 * `mentionflow tag` reading a pipe answers each line as it arrives: the
 * mentions of the first line come out while stdin is still open.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { cliPath, saveTinyModel, waitUntil, within } from '../support/kafka.js';

let model: string;
before(async () => {
  model = await saveTinyModel(join(mkdtempSync(join(tmpdir(), 'mf-tag-')), 'model'));
});

test('a line in, its mentions out, before the input ends', async () => {
  const proc = spawn(process.execPath, [cliPath(), 'tag', '--json', '--model', model, '--batch-size', '64'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
  try {
    const texts = ['我在北京见到了张三', '张三去了上海', '今天天气不错'];
    for (const [i, text] of texts.entries()) {
      proc.stdin.write(`${text}\n`);
      // stdin stays open: the answer must come without more input
      await waitUntil(() => out.split('\n').length > i + 1, 60_000, `the answer to line ${i + 1}`, () => err);
      const lines = out.trimEnd().split('\n');
      assert.equal(lines.length, i + 1);
      const answer = JSON.parse(lines[i]) as { text: string; mentions: unknown[] };
      assert.equal(answer.text, text);
      assert.ok(Array.isArray(answer.mentions));
    }
    proc.stdin.end();
    assert.equal(await within(exited, 30_000, 'tag to exit at the end of its input'), 0, err);
  } finally {
    proc.kill();
  }
});
