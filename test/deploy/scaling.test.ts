/**
 * The scaling walkthrough (deploy/scaling/walkthrough.mjs), short: 400 posts,
 * two worker containers in one group over 6 partitions, one killed with
 * SIGKILL mid-stream, the other takes every partition. Checked from the
 * script's JSON summary: both workers had partitions before, the survivor has
 * all of them after, every post has a mention record (exactly one with
 * exactly-once), the survivor exits 0 on SIGTERM with every offset committed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { projectRoot } from '../../cli/defaults.js';
import { KAFKA_SKIP, kafkaBrokers } from '../support/kafka.js';
import { WORKER_IMAGE, podmanEnv, podmanSkip } from '../support/podman.js';

const skip = kafkaBrokers() ? podmanSkip([WORKER_IMAGE]) : KAFKA_SKIP;

interface Summary {
  posts: number;
  partitions: number;
  assignmentBefore: Record<string, number[]>;
  assignmentAfter: Record<string, number[]>;
  postsWithRecord: number;
  mentionRecords: number;
  missing: number;
  duplicated: number;
  survivorExit: number;
  uncommitted: number;
  error?: string;
}

async function walkthrough(delivery: string): Promise<Summary> {
  const script = join(projectRoot(), 'deploy', 'scaling', 'walkthrough.mjs');
  const { stdout } = await promisify(execFile)(process.execPath, [script, '--posts', '400', '--partitions', '6', '--delivery', delivery], { env: podmanEnv(), timeout: 300_000 })
    .catch((err: { stdout?: string; message: string }) => ({ stdout: err.stdout ?? '' }));
  const last = stdout.trim().split('\n').pop() ?? '';
  assert.ok(last.startsWith('{'), `no JSON summary; output:\n${stdout.slice(-3000)}`);
  return JSON.parse(last) as Summary;
}

for (const delivery of ['at-least-once', 'exactly-once']) {
  test(`scaling (${delivery}): one of two workers killed, the other takes its partitions, no post lost`, { skip, timeout: 330_000 }, async () => {
    const s = await walkthrough(delivery);
    assert.equal(s.error, undefined);
    const before = Object.values(s.assignmentBefore);
    assert.equal(before.length, 2, 'two members before the kill');
    assert.ok(before.every((p) => p.length > 0), 'both members had partitions');
    assert.deepEqual(before.flat().sort((a, b) => a - b), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(Object.values(s.assignmentAfter), [[0, 1, 2, 3, 4, 5]], 'the survivor owns every partition');
    assert.equal(s.missing, 0);
    assert.equal(s.postsWithRecord, s.posts);
    if (delivery === 'exactly-once') {
      assert.equal(s.duplicated, 0);
      assert.equal(s.mentionRecords, s.posts);
    } else {
      assert.ok(s.mentionRecords >= s.posts);
    }
    assert.equal(s.survivorExit, 0);
    assert.equal(s.uncommitted, 0);
  });
}
