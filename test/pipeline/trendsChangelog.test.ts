// The chunked changelog entry of the trends aggregator (pipeline/kafka/trendsEdge.ts):
// a state of any size split into records under the broker's limit and put back
// together from the last value per key, as a compacted topic keeps them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { CHANGELOG_CHUNK_BYTES, changelogEntry, stateFromChangelog } from '../../pipeline/kafka/trendsEdge.js';

const latestOf = (...entries: Array<ReturnType<typeof changelogEntry>>): Map<string, Buffer> => new Map(entries.flat().map((r) => [r.key, r.value]));

describe('trends changelog entries', () => {
  it('splits a large state into chunks of at most CHANGELOG_CHUNK_BYTES and joins them back', () => {
    const state = randomBytes(3 * CHANGELOG_CHUNK_BYTES + 123);
    const entry = changelogEntry('cl', 'trends:g', state);
    assert.equal(entry.length, 5); // 4 chunks and the header, header last
    assert.equal(entry.at(-1)!.key, 'trends:g');
    assert.ok(entry.every((r) => r.value.length <= CHANGELOG_CHUNK_BYTES));
    assert.deepEqual(stateFromChangelog('trends:g', latestOf(entry)), state);
  });

  it('a smaller state after a larger one: the header says how many chunks count', () => {
    const big = randomBytes(2 * CHANGELOG_CHUNK_BYTES + 1);
    const small = randomBytes(10);
    assert.deepEqual(stateFromChangelog('k', latestOf(changelogEntry('cl', 'k', big), changelogEntry('cl', 'k', small))), small);
    assert.deepEqual(stateFromChangelog('k', latestOf(changelogEntry('cl', 'k', Buffer.alloc(0)))), Buffer.alloc(0));
  });

  it('no entry: undefined; an entry written before chunking (one gzip value) is the state itself; a missing chunk is an error', () => {
    assert.equal(stateFromChangelog('k', new Map()), undefined);
    const old = gzipSync('{"version":1}');
    assert.deepEqual(stateFromChangelog('k', new Map([['k', old]])), old);
    const entry = changelogEntry('cl', 'k', randomBytes(CHANGELOG_CHUNK_BYTES + 1));
    const latest = latestOf(entry);
    latest.delete('k#1');
    assert.throws(() => stateFromChangelog('k', latest), /chunk 1 is missing/);
  });
});
