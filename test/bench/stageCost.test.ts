/**
 * bench/stageCost.ts end to end on a few records: every stage asked for is
 * measured for this build and a --baseline build (here the same dist), with
 * finite CPU and allocation figures and the ratio table; a --baseline that is
 * not a build is refused before anything runs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../bench/stageCost.js', import.meta.url));
const DIST = fileURLToPath(new URL('../..', import.meta.url));

test('measures each stage for both builds and prints the ratios', { timeout: 120_000 }, async () => {
  const { stdout } = await run(process.execPath, [SCRIPT, '--records', '300', '--runs', '1', '--warmup-passes', '1', '--stages', 'batch,encode,all', '--baseline', DIST]);
  const rows = stdout.split('\n').filter((l) => /^\| (batch|encode|all) \| (this|baseline) \|/.test(l));
  assert.deepEqual(
    rows.map((l) => l.split('|').slice(1, 3).map((c) => c.trim()).join(' ')),
    ['batch this', 'batch baseline', 'encode this', 'encode baseline', 'all this', 'all baseline'],
  );
  for (const row of rows) {
    // CPU cold, CPU warm, alloc cold, alloc warm: "median (min-max)", finite; the stages allocate
    const medians = row.split('|').slice(3, 7).map((c) => Number(c.trim().split(' ')[0].replace(/,/g, '')));
    assert.ok(medians.every((x) => Number.isFinite(x) && x >= 0), row);
    assert.ok(medians[2] > 0 && medians[3] > 0, `allocation counted: ${row}`);
  }
  assert.match(stdout, /^\| all \| \d+\.\d\d \(\d\/1\) \|/m);
});

test('a --baseline without a build is refused', async () => {
  await assert.rejects(run(process.execPath, [SCRIPT, '--records', '10', '--runs', '1', '--baseline', '/nonexistent']), (err: { stderr: string }) => {
    assert.match(err.stderr, /--baseline \/nonexistent: no operators\/index\.js there/);
    return true;
  });
});
