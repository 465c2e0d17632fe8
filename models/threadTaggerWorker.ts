/**
 * The inference thread of ThreadTagger (models/threadTagger.ts): selects the
 * backend and loads the artifact exactly as the CLI does in-process
 * (useBackend, TaggerModel.load, NeuralTagger), replies `ready` (or `failed`
 * with the loader's error, then ends), then answers requests. Tag, load and
 * unload requests and the final dispose run one at a time, in arrival order;
 * a memory request is answered at once. `load` adds a model beside the first
 * (a hot swap without starting another TensorFlow runtime). See models/threadProtocol.ts for the messages.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { TaggingError } from '../common/errors.js';
import { activeBackend, useBackend } from './backend.js';
import { inferenceEngine, useInferencePrecision } from './layers/nativeLstm.js';
import { NeuralTagger } from './tagger.js';
import { TaggerModel } from './taggerModel.js';
import { packMentions, toWire, type FromThread, type TensorMemory, type ThreadInit, type ToThread } from './threadProtocol.js';

const EXIT_ON_TEXT_CODE = 7;

if (parentPort === null) throw new Error('models/threadTaggerWorker.js runs only as the worker thread of ThreadTagger');
const port: MessagePort = parentPort;
const init = workerData as ThreadInit;
const post = (message: FromThread, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

function memory(): TensorMemory {
  const { numTensors, numBytes } = tf.memory();
  return { numTensors, numBytes };
}

/** The thread's models: 0 the one it opened with, then one per `load`. */
const taggers = new Map<number, NeuralTagger>();
let nextModel = 1;

async function make(dir: string): Promise<NeuralTagger> {
  const { model } = await TaggerModel.load(dir);
  try {
    const { batchSize, sliceChars } = init;
    return new NeuralTagger(model, { ...(batchSize !== undefined ? { batchSize } : {}), ...(sliceChars !== undefined ? { sliceChars } : {}) });
  } catch (err) {
    model.dispose();
    throw err;
  }
}

async function open(): Promise<NeuralTagger> {
  await useBackend(init.backend, (message) => post({ type: 'warn', message }));
  useInferencePrecision(init.precision ?? 'float32');
  return make(init.modelDir);
}

async function handle(m: ToThread): Promise<void> {
  if (m.type === 'tag') {
    if (init.exitOnText !== undefined && m.texts.includes(init.exitOnText)) process.exit(EXIT_ON_TEXT_CODE);
    try {
      const tagger = taggers.get(m.model ?? 0);
      if (tagger === undefined) throw new TaggingError(`the inference thread has no model ${m.model ?? 0} (unloaded?)`);
      const { packed, transfer } = packMentions(await tagger.tag(m.texts));
      post({ type: 'tagged', id: m.id, mentions: packed, memory: memory() }, transfer);
    } catch (err) {
      post({ type: 'error', id: m.id, error: toWire(err) });
    }
  } else if (m.type === 'load') {
    try {
      const tagger = await make(m.modelDir);
      const model = nextModel++;
      taggers.set(model, tagger);
      post({ type: 'loaded', id: m.id, model, modelId: tagger.modelId, modelVersion: tagger.modelVersion, memory: memory() });
    } catch (err) {
      post({ type: 'error', id: m.id, error: toWire(err) });
    }
  } else if (m.type === 'unload') {
    taggers.get(m.model)?.dispose();
    taggers.delete(m.model);
  } else if (m.type === 'dispose') {
    for (const tagger of taggers.values()) tagger.dispose();
    taggers.clear();
    post({ type: 'disposed', memory: memory() });
    port.close(); // nothing else keeps the thread alive: it ends
  }
}

const first = await open().catch((err: unknown) => {
  post({ type: 'failed', error: toWire(err) });
  port.close(); // the thread ends
  return undefined;
});
if (first !== undefined) {
  taggers.set(0, first);
  post({ type: 'ready', modelId: first.modelId, modelVersion: first.modelVersion, backend: activeBackend(), lstm: inferenceEngine() });
  let queue = Promise.resolve();
  port.on('message', (m: ToThread) => {
    if (m.type === 'memory') post({ type: 'memory', id: m.id, memory: memory() });
    else queue = queue.then(() => handle(m));
  });
}
