/**
 * Child process of test/native/signalSafety.test.ts: tags batches of posts on
 * the main thread (the inline worker's path) with the shipped model, while the
 * parent sends it signals. Prints "ready" once the model is loaded, then one
 * JSON line {batches, signals} at the end. Between batches it yields to the
 * event loop, so the handled signals are counted as they arrive.
 */
import { preferOneComputeThread, useBackend } from '../../models/backend.js';
import { NeuralTagger } from '../../models/tagger.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { defaultModelDir } from '../../cli/defaults.js';

const batches = Number(process.argv[2] ?? 200);
let signals = 0;
process.on('SIGUSR2', () => void signals++);
preferOneComputeThread();
await useBackend('native');
const { model } = await TaggerModel.load(defaultModelDir());
const tagger = new NeuralTagger(model, { batchSize: 64 });
const texts = ['今天在北京见到了马云，他说阿里巴巴明年还要招人。', '上海下雨了😀小王约我明天去外滩散步', '那位老板昨天在深圳开了发布会，腾讯的人也来了'];
process.stdout.write('ready\n');
for (let k = 0; k < batches; k++) {
  await tagger.tag(Array.from({ length: 64 }, (_, i) => `${texts[(k + i) % texts.length]} #${k * 64 + i}`));
  await new Promise((resolve) => setImmediate(resolve));
}
tagger.dispose();
process.stdout.write(`${JSON.stringify({ batches, signals })}\n`);
process.removeAllListeners('SIGUSR2');
process.on('SIGUSR2', () => undefined); // late signals from the parent must not kill the process while it exits
