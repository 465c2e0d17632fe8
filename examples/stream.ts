// The whole pipeline, as `mentionflow run` runs it, between an in-process
// source of plain posts and a sink that hands each output record to a callback.
// Swap postSource/callbackSink for FileSource/FileSink or openKafkaEdges(config)
// to read and write files or Kafka topics instead.
import { lastValueFrom } from 'rxjs';
import { callbackSink, loadTagger, mentionStream, postSource, type PostInput } from 'mentionflow';

const posts: PostInput[] = ['我在北京见到了张三', '今天上海下雨了', ''].map((text, i) => ({
  id: String(i + 1),
  text,
  author_id: 'u1',
  created_at: Date.UTC(2026, 0, 1),
  source: 'weibo',
}));

const tagger = await loadTagger();
await lastValueFrom(
  mentionStream({
    source: postSource(posts),
    sink: callbackSink({
      mentions: (record) => console.log(JSON.stringify({ mentions: record })),
      deadLetters: (record) => console.log(JSON.stringify({ deadLetter: { stage: record.stage, error: record.error_message } })),
    }),
    tagger,
    settings: { batchMaxWaitMs: 5 },
  }),
  { defaultValue: [] },
);
tagger.dispose();
