import assert from 'node:assert/strict';
import { mkdtempSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ModelArtifactError, TaggingError } from '../../common/errors.js';
import { SwappableTagger } from '../../models/swappableTagger.js';
import { ThreadTagger } from '../../models/threadTagger.js';
import { saveTinyModel } from '../support/kafka.js';
import { corruptWeights } from '../support/tiny.js';

for (const threads of [1, 2]) test(`${threads} thread(s) host several models: load beside the first, swap, unload; tensors back to one model; a corrupt one rejects`, { timeout: 120_000 }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'mf-thread-models-'));
  const dir = await saveTinyModel(join(tmp, 'a'));
  const corrupt = join(tmp, 'corrupt');
  cpSync(dir, corrupt, { recursive: true });
  corruptWeights(corrupt);

  const host = await ThreadTagger.open(dir, { threads });
  assert.equal(host.threads, threads);
  try {
    const swappable = new SwappableTagger(host.initialModel(), { id: 'tiny', version: 'a' });
    const texts = ['张三在北京工作', '我爱上海'];
    const expected = await swappable.tag(texts);
    const one = (await host.memory()).numTensors;
    for (let i = 0; i < 5; i++) {
      const next = await host.load(dir);
      assert.equal((await host.memory()).numTensors, 2 * one, 'two models live in the thread during the swap');
      const inFlight = swappable.tag(texts);
      swappable.swap(next, { id: 'tiny', version: `v${i}` });
      assert.deepEqual(await inFlight, expected);
      assert.deepEqual(await swappable.tag(texts), expected, 'same artifact, same mentions');
      assert.equal((await host.memory()).numTensors, one, `after swap ${i + 1}: the old model was unloaded`);
    }
    await assert.rejects(host.load(corrupt), ModelArtifactError);
    assert.equal((await host.memory()).numTensors, one, 'the refused model left nothing behind');
    const first = host.initialModel();
    first.dispose(); // model 0 is already unloaded (swapped out): a tag on it is an error, the thread lives on
    await assert.rejects(host.initialModel().tag(['x']), TaggingError);
    assert.equal((await swappable.tag(['我爱上海'])).length, 1);
    swappable.dispose();
    assert.equal((await host.memory()).numTensors, 0);
  } finally {
    const left = await host.close();
    assert.equal(left?.numTensors, 0);
  }
});
