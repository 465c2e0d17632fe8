// kafka:TOPIC sources (sourceSpec.ts + openSource.ts) against a real broker (KAFKA_BROKERS):
// a posts topic as pre-training text, an offset range of LabeledExample records as NER data,
// and `pretrain-embeddings --text kafka:...` with MENTIONFLOW_BROKERS. Skipped, with a note, when unset.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { projectRoot } from '../../cli/defaults.js';
import { createKafkaClient } from '../../pipeline/kafka/client.js';
import { deleteTopics, ensureTopic } from '../../pipeline/kafka/topicAdmin.js';
import { readEmbeddings } from '../../pipeline/train/pretrain/embeddingsFile.js';
import { readNerSource, readTextSource } from '../../pipeline/train/sources/openSource.js';
import { encodeStrict, loadSchema } from '../../schemas/registry.js';
import { tempDir } from './helpers.js';

const BROKERS = process.env.KAFKA_BROKERS?.split(',').filter((b) => b !== '') ?? [];
const SKIP = BROKERS.length === 0 ? 'KAFKA_BROKERS is not set; start a broker with `out="$(bash deploy/kafka/start.sh)" && export "$out"`' : false;
const tag = `${Date.now()}-${randomBytes(3).toString('hex')}`;
const POSTS = `mf-src-posts-${tag}`;
const EXAMPLES = `mf-src-examples-${tag}`;
const BASE = Date.UTC(2026, 11, 1);
const tmp = tempDir('kafka-source');
const MAIN = path.join(projectRoot(), 'dist', 'cli', 'main.js');

describe('kafka: sources against a real broker', { skip: SKIP, timeout: 120_000 }, () => {
  before(async () => {
    await ensureTopic({ brokers: BROKERS, topic: POSTS, partitions: 2 });
    await ensureTopic({ brokers: BROKERS, topic: EXAMPLES, partitions: 1 });
    const producer = createKafkaClient({ brokers: BROKERS }).producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const post = loadSchema('post');
      for (const partition of [0, 1]) {
        await producer.send({
          topic: POSTS,
          acks: -1,
          messages: Array.from({ length: 20 }, (_, i) => ({
            partition,
            value: encodeStrict(post, { id: `p${partition}-${i}`, text: `分区${partition} 第${i}条 北京`, author_id: 'a', created_at: BASE + i * 60_000, source: 'weibo', lang: null, reply_to: null, attributes: {}, topic_tags: [], geo: null }),
            timestamp: String(BASE + i * 60_000),
          })),
        });
      }
      const example = loadSchema('example');
      await producer.send({
        topic: EXAMPLES,
        acks: -1,
        messages: Array.from({ length: 10 }, (_, i) => ({
          partition: 0,
          value: encodeStrict(example, { id: `e${i}`, text: `张三${i}`, spans: [{ start: 0, end: 2, label: 'PER.NAM' }], segmentation: null, source: 'weibo', created_at: BASE }),
        })),
      });
    } finally {
      await producer.disconnect();
    }
  });
  after(async () => {
    await deleteTopics({ brokers: BROKERS, topics: [POSTS, EXAMPLES] }).catch(() => undefined);
    tmp.cleanup();
  });

  it('a posts topic is pre-training text: a time range [from, to) of both partitions, whitespace dropped', async () => {
    const from = new Date(BASE + 5 * 60_000).toISOString();
    const to = new Date(BASE + 15 * 60_000).toISOString();
    const { sentences, fingerprint } = await readTextSource(`kafka:${POSTS}?from=${from}&to=${to}`, { where: '--text', fingerprintRole: 'unlabeled', kafka: { brokers: BROKERS } });
    const texts = sentences.map((s) => s.join('')).sort();
    const want = [0, 1].flatMap((p) => Array.from({ length: 10 }, (_, k) => `分区${p}第${k + 5}条北京`)).sort();
    assert.deepEqual(texts, want);
    assert.equal(fingerprint.sentences, 20);
  });

  it('an offset range of LabeledExample records is NER data; brokers can come with the spec', async () => {
    const { sentences } = await readNerSource(`kafka:${EXAMPLES}?from=3&to=7&brokers=${BROKERS.join(',')}`, { where: '--train', fingerprintRole: 'ner-train' });
    assert.deepEqual(sentences.map((s) => s.chars.join('')), ['张三3', '张三4', '张三5', '张三6']);
    assert.deepEqual(sentences[0].tags, ['B-PER.NAM', 'I-PER.NAM', 'O']);
  });

  it('pretrain-embeddings --text kafka:TOPIC with MENTIONFLOW_BROKERS', async () => {
    const out = path.join(tmp.dir, 'k.emb');
    const r = spawnSync(process.execPath, [MAIN, 'pretrain-embeddings', '--out', out, '--text', `kafka:${POSTS}?partitions=1`, '--dim', '8', '--epochs', '1', '--min-count', '1', '--quiet'], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, MENTIONFLOW_BROKERS: BROKERS.join(',') },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /20 sentences/);
    const emb = await readEmbeddings(out);
    assert.ok(emb.tokens.includes('区'));
  });
});
