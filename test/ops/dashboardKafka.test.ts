// `mentionflow dashboard --from-topic`: EntityTrend records (the golden sample's Avro bytes) and
// one undecodable record in a topic of the test broker; the page's state shows the window and
// the bad record is reported and skipped. Skipped without KAFKA_BROKERS.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { projectRoot } from '../../cli/defaults.js';
import { KAFKA_SKIP, createTestTopics, deleteTestTopics, kafkaBrokers, produceRecords, sleep, type TestTopics } from '../support/kafka.js';

const brokers = kafkaBrokers();

function getJson(url: string): Promise<any> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(JSON.parse(body)));
    })
      .on('error', reject)
      .end();
  });
}

describe('mentionflow dashboard --from-topic', { skip: brokers === undefined ? KAFKA_SKIP : undefined, timeout: 90_000 }, () => {
  let topics: TestTopics | undefined;
  after(async () => {
    if (topics !== undefined) await deleteTestTopics(brokers!, topics);
  });

  it('shows the windows of the topic and skips a record that is not an EntityTrend', async () => {
    topics = await createTestTopics(brokers!, 'dashboard', 1);
    const sample = Buffer.from(readFileSync(join(projectRoot(), 'schemas/trends/samples/v1-window.avro.b64'), 'utf8').trim(), 'base64');
    await produceRecords(brokers!, topics.input, [
      { key: 'bad', value: Buffer.from('not avro') },
      { key: 'w1', value: sample },
    ]);
    const child = spawn(process.execPath, [join(projectRoot(), 'dist/cli/main.js'), 'dashboard', '--port', '0', '--from-topic', topics.input, '--brokers', brokers!.join(','), '--from-beginning'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    try {
      let url: string | undefined;
      let state: any;
      for (let i = 0; i < 600; i++) {
        url ??= /serving (http:\/\/\S+)/.exec(err)?.[1];
        if (url !== undefined) {
          state = await getJson(`${url}api/state`);
          if (state.windows >= 1 && /skipped/.test(err)) break;
        }
        if (child.exitCode !== null) break;
        await sleep(100);
      }
      assert.equal(state?.windows, 1, `stderr: ${err}`);
      assert.deepEqual(state.types.map((t: any) => t.top.map((e: any) => e.text)), [['北京'], ['马云']]);
      assert.equal(state.window.lateRecords, 3);
      assert.match(err, new RegExp(`dashboard: ${topics.input}\\[0\\]@0: .*, skipped`));
    } finally {
      child.kill('SIGTERM');
    }
  });
});
