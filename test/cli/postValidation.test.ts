/**
 * `run --input` (file mode) and `produce` judge a posts file by the same
 * check and say the same thing: produce refuses the file (exit 2, file:line),
 * run dead-letters the line with that reason.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readPostsFile as producePosts } from '../../cli/commands/produce.js';
import { CorpusFormatError } from '../../common/errors.js';
import { readPostsFile as filePosts } from '../../pipeline/file/fileSource.js';
import { cliPath } from '../support/kafka.js';

const work = mkdtempSync(join(tmpdir(), 'mf-posts-'));
const good = { id: '1', text: '张三在北京', author_id: 'u1', created_at: 1, source: 'weibo' };
const cases: Array<[string, string, RegExp]> = [
  ['missing author_id', JSON.stringify({ ...good, author_id: undefined }), /^not a valid Post: author_id: expected string, got undefined \(missing\)$/],
  ['a number for a string', JSON.stringify({ ...good, id: 7 }), /^not a valid Post: id: expected string, got 7$/],
  ['not JSON', '{"id": "1",', /^not JSON: /],
];

for (const [name, line, reason] of cases) {
  test(`${name}: the same reason from produce and from run's file mode`, async () => {
    const file = join(work, `${name.replace(/\W+/g, '-')}.ndjson`);
    writeFileSync(file, `${JSON.stringify(good)}\n${line}\n`);
    let fromProduce = '';
    await assert.rejects(producePosts(file), (err: Error) => {
      assert.ok(err instanceof CorpusFormatError);
      fromProduce = err.message;
      return true;
    });
    assert.ok(fromProduce.startsWith(`${file}:2: `), fromProduce);
    const records = [];
    for await (const r of filePosts(file)) records.push(r);
    assert.equal(records.length, 2);
    assert.equal(records[0].problem, undefined);
    assert.ok(records[1].problem?.startsWith('line 2: '), records[1].problem);
    const [a, b] = [fromProduce.slice(`${file}:2: `.length), records[1].problem?.slice('line 2: '.length) ?? ''];
    assert.match(a, reason);
    assert.equal(b, a);

    // and produce on the command line: exit 2, that line (the file is read before any connection)
    const r = spawnSync(process.execPath, [cliPath(), 'produce', '--brokers', '127.0.0.1:1', '--topic', 't', '--input', file], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `mentionflow produce: ${fromProduce}\n`);
  });
}
