// The streaming stages as plain RxJS operators over an Observable of plain
// post objects: postItems() wraps each post into an item (a post missing a
// field becomes a failed item, not an error), then batch, tag, to mentions.
import { from, lastValueFrom, mergeMap, toArray } from 'rxjs';
import { batchItems, loadTagger, postItems, tagBatch, toMentions, type PostInput } from 'mentionflow';

const posts: PostInput[] = [
  { id: '1', text: '我在北京见到了张三', author_id: 'u1', created_at: Date.UTC(2026, 0, 1), source: 'weibo' },
  { id: '2', text: '今天上海下雨了', author_id: 'u2', created_at: Date.UTC(2026, 0, 2), source: 'weibo' },
  // Not a valid post (no author_id): it flows on as a failed item saying so.
  { id: '3', text: '杭州', created_at: 0, source: 'weibo' } as unknown as PostInput,
];

const tagger = await loadTagger();
const items = await lastValueFrom(
  from(posts).pipe(
    postItems(),
    batchItems({ maxCount: 32, maxChars: 4096, maxWaitMs: 10 }),
    tagBatch({ tagger }),
    toMentions({ model: { id: tagger.modelId, version: tagger.modelVersion } }),
    mergeMap((batch) => batch),
    toArray(),
  ),
);
for (const item of items) {
  if (item.kind === 'ok') console.log(JSON.stringify({ ok: item.value }));
  else console.log(JSON.stringify({ failed: { offset: item.ref.offset, stage: item.stage, error: item.error.message } }));
}
tagger.dispose();
