/**
 * A Tagger whose NeuralTagger runs in a node:worker_threads thread (or
 * several: `threads`, below), so the calling thread (Kafka I/O, Avro
 * decoding, encoding) keeps running while a batch is tagged. Texts go in by structured clone (a copy of each string);
 * mentions come back as flat arrays, transferred (PackedMentions in
 * models/threadProtocol.ts), so a post with tens of thousands of mentions
 * does not hold the calling thread.
 *
 *   const tagger = await ThreadTagger.open('models/default', { backend: 'native' });
 *   const mentions = await tagger.tag(['我在北京见到了张三']);
 *   await tagger.close();
 *
 * Failure behaviour:
 *  - open() rejects with the error the in-process loader gives (same class
 *    and message: ModelArtifactError for a missing or corrupt artifact,
 *    BackendError for an unavailable backend);
 *  - an error while tagging rejects only that call, with the thread's error
 *    (same class and message as NeuralTagger would throw);
 *  - if the thread dies (uncaught error, exit), `onExit` is called, then every
 *    pending and every later call rejects with a TaggingError saying so.
 *
 * `threads` (default 1) starts that many inference threads, each with its
 * own copy of the model, and sends each call to the thread with the fewest
 * calls pending, so calls made at once (the worker's --tagger-concurrency)
 * are tagged in parallel: on two cores, two threads with two calls in flight
 * tag 1.95x the posts of one thread, 1.74x the in-process tagger's
 * (BENCHMARKS.md, Limits round 6). Each call is tagged by one
 * thread, whole, so its result is exactly what one thread gives. A load()
 * loads the artifact into every thread, and a failure of any thread is a
 * failure of the tagger (every pending and later call rejects), as with one.
 *
 * The threads do not keep the process alive while no call is pending.
 * TensorFlow's thread pool is sized by the environment as in-process
 * (`mentionflow run` asks for one thread: models/backend.ts,
 * preferOneComputeThread), per inference thread.
 */
import { Worker } from 'node:worker_threads';
import { ConfigError, TaggingError } from '../common/errors.js';
import type { BackendChoice, BackendName } from './backend.js';
import type { InferenceEngine, InferencePrecision } from './layers/nativeLstm.js';
import type { Mention, Tagger } from './tagger.js';
import { fromWire, unpackMentions, type FromThread, type PackedMentions, type TensorMemory, type ThreadInit, type ToThread } from './threadProtocol.js';

export type { TensorMemory } from './threadProtocol.js';

/** Options of ThreadTagger.open. */
export interface ThreadTaggerOptions {
  /** Compute backend, chosen in the thread as models/backend.ts's useBackend does. Default 'auto'. */
  backend?: BackendChoice;
  /** The LSTM's precision at inference in the threads (models/layers/nativeLstm.ts useInferencePrecision; a ConfigError where bfloat16 or int8 cannot run). Default 'float32'. */
  precision?: InferencePrecision;
  /** Rows per tensor batch (NeuralTagger's batchSize). Default: NeuralTagger's. */
  batchSize?: number;
  /**
   * Most character positions computed in one step before the thread returns
   * to its event loop (NeuralTagger's sliceChars), which answers memory()
   * between steps. Default: NeuralTagger's.
   */
  sliceChars?: number;
  /** Receives the backend selection's warnings (a fallback from native). Default: stderr. */
  warn?: (message: string) => void;
  /** Called once if the thread dies after open() resolved, before pending calls are rejected. */
  onExit?: (error: TaggingError) => void;
  /** dispose(): how long the thread may take to dispose the model and end before it is terminated. Default 10000. */
  disposeTimeoutMs?: number;
  /** Inference threads, each with its own copy of the model; calls go to the least busy. An integer from 1 to MAX_THREADS. Default 1. */
  threads?: number;
  /** Test hook: a thread exits (code 7) when asked to tag this exact text. */
  exitOnText?: string;
}

/** Most inference threads of one ThreadTagger. */
export const MAX_THREADS = 64;

interface Pending {
  resolve: (value: never) => void;
  reject: (err: Error) => void;
}

const warner = (options: ThreadTaggerOptions) => options.warn ?? ((m: string) => void process.stderr.write(`warning: ${m}\n`));

const WORKER_FILE = new URL('./threadTaggerWorker.js', import.meta.url);

/** What the model's loader said on a thread's 'ready'. */
interface Ready {
  modelId: string;
  modelVersion: string;
  backend: BackendName;
  lstm: InferenceEngine;
}

/** How a thread ended: its exit code, and the error it failed with, if any. */
interface Ended {
  code: number;
  failure: Error | undefined;
}

/** A thread's end as it is recorded (`code` once it has ended) and whom to tell (`then`, once a Lane has it). */
interface EndWatch {
  code?: number;
  failure?: Error;
  then?: (ended: Ended) => void;
}

/** A thread that loaded its model: the worker, what it said when ready, and the watch on its end. */
interface Started {
  worker: Worker;
  ready: Ready;
  ended: EndWatch;
}

/**
 * One inference thread: its requests in flight and its last reported
 * tf.memory(). Referenced (keeps the process alive) only while a request is
 * pending or it is closing.
 */
class Lane {
  private nextId = 1;
  readonly pending = new Map<number, Pending>();
  /** tf.memory() in the thread as of its last reply that carried it. */
  lastMemory: TensorMemory | undefined;
  private closing = false;
  private disposedMemory: ((memory: TensorMemory | undefined) => void) | undefined;
  readonly worker: Worker;
  readonly exited: Promise<number>;

  constructor(
    { worker, ended }: Started,
    warn: (message: string) => void,
    onExit: (lane: Lane, code: number, failure: Error | undefined) => void,
  ) {
    this.worker = worker;
    worker.on('message', (m: FromThread) => this.onMessage(m, warn));
    this.exited = new Promise((resolve) => {
      const exit = ({ code, failure }: Ended) => {
        onExit(this, code, failure);
        resolve(code);
      };
      ended.then = exit; // open() hands over only threads that have not ended
    });
    worker.unref();
  }

  /**
   * Starts a thread and loads the model there; resolves once it is ready to
   * tag. From then on its end (exit code, error) is recorded in `ended` until
   * a Lane takes the thread over.
   */
  static open(init: ThreadInit, warn: (message: string) => void): Promise<Started> {
    const worker = new Worker(WORKER_FILE, { workerData: init });
    return new Promise((resolve, reject) => {
      let failure: Error | undefined;
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const onMessage = (m: FromThread) => {
        if (m.type === 'warn') warn(m.message);
        else if (m.type === 'ready') {
          cleanup();
          const ended: EndWatch = {};
          worker.on('error', (err) => (ended.failure = err));
          worker.once('exit', (code) => {
            ended.code = code;
            ended.then?.({ code, failure: ended.failure });
          });
          resolve({ worker, ready: m, ended });
        } else if (m.type === 'failed') {
          cleanup();
          worker.on('error', () => undefined); // it ends by itself; nothing more to report
          reject(fromWire(m.error));
        }
      };
      const onError = (err: Error) => (failure = err);
      const onExit = (code: number) => {
        cleanup();
        const why = failure ? `failed: ${failure.message}` : `exited with code ${code}`;
        reject(new TaggingError(`the inference thread ${why} before the model ${init.modelDir} was loaded`, failure ? { cause: failure } : {}));
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }

  request<T>(message: (id: number) => ToThread): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: never) => void, reject });
      if (this.pending.size === 1) this.worker.ref();
      try {
        this.post(message(id));
      } catch (err) {
        this.settle(id); // e.g. a DataCloneError: texts that are not plain data
        reject(err as Error);
      }
    });
  }

  /** tf.memory() of the thread: the last reply's figures while a call is pending (it may be computing), else asked. */
  memory(): Promise<TensorMemory> {
    if (this.lastMemory !== undefined && this.pending.size > 0) return Promise.resolve({ ...this.lastMemory });
    return this.request<TensorMemory>((id) => ({ type: 'memory', id }));
  }

  post(message: ToThread): void {
    this.worker.postMessage(message);
  }

  /**
   * Asks the thread to dispose its models and end after the requests before;
   * terminates it after `timeoutMs`. Resolves with the memory it reported
   * after disposing (undefined if it was terminated or gone).
   */
  close(timeoutMs: number): Promise<TensorMemory | undefined> {
    this.closing = true;
    const reported = new Promise<TensorMemory | undefined>((resolve) => (this.disposedMemory = resolve));
    this.worker.ref();
    this.post({ type: 'dispose' });
    const timer = setTimeout(() => void this.worker.terminate(), timeoutMs);
    timer.unref();
    return this.exited.then(() => {
      clearTimeout(timer);
      this.disposedMemory?.(undefined); // terminated: no report (a report comes before 'exit')
      return reported;
    });
  }

  /** Rejects every pending request with `error`. */
  rejectAll(error: Error): void {
    for (const [id, p] of [...this.pending]) {
      this.pending.delete(id);
      p.reject(error);
    }
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (this.pending.size === 0 && !this.closing) this.worker.unref();
    return p;
  }

  private onMessage(m: FromThread, warn: (message: string) => void): void {
    switch (m.type) {
      case 'tagged':
        this.lastMemory = m.memory;
        this.settle(m.id)?.resolve(m.mentions as never);
        break;
      case 'memory':
        this.lastMemory = m.memory;
        this.settle(m.id)?.resolve(m.memory as never);
        break;
      case 'loaded':
        this.lastMemory = m.memory;
        this.settle(m.id)?.resolve(m as never);
        break;
      case 'error':
        this.settle(m.id)?.reject(fromWire(m.error));
        break;
      case 'disposed':
        this.disposedMemory?.(m.memory);
        break;
      case 'warn':
        warn(m.message);
        break;
      default:
        break;
    }
  }
}

/** Sums the threads' tf.memory() figures. */
function totalMemory(parts: readonly TensorMemory[]): TensorMemory {
  return parts.reduce((a, m) => ({ numTensors: a.numTensors + m.numTensors, numBytes: a.numBytes + m.numBytes }), { numTensors: 0, numBytes: 0 });
}

/** A Tagger running NeuralTaggers in worker threads (see the module comment); create one with `ThreadTagger.open(dir, options)`. */
export class ThreadTagger implements Tagger {
  /** Set once a thread is gone (or going): the error later calls get. */
  private gone: TaggingError | undefined;
  /** Resolves once, after a thread died, the others have ended and onExit was called: calls wait for it before they reject. */
  private down: Promise<void> | undefined;
  private disposed = false;
  /** Each model's id in each thread (by lane), by the handle ThreadModel holds; 0 is the model opened with. */
  private readonly models = new Map<number, number[]>();
  private nextModel = 1;
  /** Where the search for the least busy thread starts, turning so that idle threads share the calls. */
  private turn = 0;

  private readonly lanes: readonly Lane[];
  readonly modelId: string;
  readonly modelVersion: string;
  /** The backend the threads run on. */
  readonly backend: BackendName;
  /** Where the model's LSTM runs in the threads: the C kernel's engine, or TensorFlow and why (nativeLstm.ts inferenceEngine). */
  readonly lstm: InferenceEngine;

  private constructor(
    started: readonly Started[],
    private readonly options: ThreadTaggerOptions,
  ) {
    const warn = warner(options);
    this.lanes = started.map((s) => new Lane(s, warn, (lane, code, failure) => this.onThreadExit(lane, code, failure)));
    ({ modelId: this.modelId, modelVersion: this.modelVersion, backend: this.backend, lstm: this.lstm } = started[0].ready);
    this.models.set(0, this.lanes.map(() => 0));
  }

  /** Starts the threads and loads the model in each; resolves once they are ready to tag. */
  static async open(modelDir: string, options: ThreadTaggerOptions = {}): Promise<ThreadTagger> {
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
      throw new ConfigError(`ThreadTagger: threads must be an integer from 1 to ${MAX_THREADS} (inference threads, each with a copy of the model), got ${options.threads}; e.g. 2 on two cores`);
    }
    const init: ThreadInit = {
      modelDir,
      backend: options.backend ?? 'auto',
      ...(options.precision !== undefined ? { precision: options.precision } : {}),
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
      ...(options.sliceChars !== undefined ? { sliceChars: options.sliceChars } : {}),
      ...(options.exitOnText !== undefined ? { exitOnText: options.exitOnText } : {}),
    };
    const warn = warner(options);
    // As useBackend does in-process; set here because a thread's process.env is its own copy.
    process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
    // Every thread's warnings are the same (one backend, one artifact): the first thread's are passed on.
    const opened = await Promise.allSettled(Array.from({ length: threads }, (_, i) => Lane.open(init, i === 0 ? warn : () => undefined)));
    const failed = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    const started = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    // A thread can end after its 'ready' while the others are still loading: then the tagger is not whole.
    const dead = started.find((o) => o.ended.code !== undefined);
    if (failed || dead) {
      await Promise.all(started.map((o) => o.worker.terminate()));
      if (failed) throw failed.reason;
      const why = dead!.ended.failure ? `failed: ${dead!.ended.failure.message}` : `exited with code ${dead!.ended.code}`;
      throw new TaggingError(`an inference thread ${why} while the others were loading the model ${modelDir}`, dead!.ended.failure ? { cause: dead!.ended.failure } : {});
    }
    return new ThreadTagger(started, options);
  }

  /** Inference threads. */
  get threads(): number {
    return this.lanes.length;
  }

  /** Mentions per text, tagged in a thread (by the model it was opened with). */
  async tag(texts: readonly string[]): Promise<Mention[][]> {
    return this.tagWith(0, texts);
  }

  /**
   * The model the threads were opened with, as a Tagger of its own whose
   * dispose() frees only that model (the threads stay until this
   * ThreadTagger is disposed): for a SwappableTagger, with load().
   */
  initialModel(): Tagger {
    return new ThreadModel(this, 0, this.modelId, this.modelVersion);
  }

  /**
   * Loads another artifact into these same threads (no new TensorFlow runtime
   * to start) and returns it as a Tagger whose dispose() frees only it.
   * Rejects as open() would for a missing or corrupt artifact.
   */
  async load(modelDir: string): Promise<Tagger> {
    type Loaded = { model: number; modelId: string; modelVersion: string };
    const replies = await Promise.allSettled(this.lanes.map((lane) => this.request<Loaded>(lane, (id) => ({ type: 'load', id, modelDir }))));
    const failed = replies.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      replies.forEach((r, i) => r.status === 'fulfilled' && this.lanes[i].post({ type: 'unload', model: r.value.model }));
      throw failed.reason;
    }
    const loaded = replies.map((r) => (r as PromiseFulfilledResult<Loaded>).value);
    const handle = this.nextModel++;
    this.models.set(handle, loaded.map((l) => l.model));
    return new ThreadModel(this, handle, loaded[0].modelId, loaded[0].modelVersion);
  }

  /** @internal For ThreadModel. */
  async tagWith(model: number, texts: readonly string[]): Promise<Mention[][]> {
    const ids = this.models.get(model);
    if (ids === undefined) throw new TaggingError(`the inference threads have no model ${model} (unloaded?)`);
    const i = this.leastBusy();
    const inThread = ids[i];
    return unpackMentions(await this.request<PackedMentions>(this.lanes[i], (id) => ({ type: 'tag', id, texts, ...(inThread === 0 ? {} : { model: inThread }) })), texts);
  }

  /** @internal For ThreadModel. */
  unload(model: number): void {
    const ids = this.models.get(model);
    this.models.delete(model);
    if (this.disposed || this.gone !== undefined || ids === undefined) return;
    this.lanes.forEach((lane, i) => lane.post({ type: 'unload', model: ids[i] }));
  }

  /**
   * tf.memory() of the threads, summed: live tensors and their bytes. A
   * thread with calls pending (it may be computing) answers at once with the
   * figures of its last reply, so a /metrics scrape never waits for a thread.
   */
  async memory(): Promise<TensorMemory> {
    if (this.gone !== undefined) return this.failed();
    if (this.disposed) throw new TaggingError('the thread tagger is disposed');
    return totalMemory(await Promise.all(this.lanes.map((lane) => lane.memory())));
  }

  /**
   * Lets the threads finish the calls already made, dispose the models and
   * end; terminates any that takes longer than disposeTimeoutMs. Later calls
   * reject.
   */
  dispose(): void {
    void this.close();
  }

  /**
   * dispose(), resolving when the threads have ended, with their tf.memory()
   * after the models were disposed, summed (undefined if one had to be
   * terminated or was gone).
   */
  async close(): Promise<TensorMemory | undefined> {
    if (this.disposed || this.gone !== undefined) {
      await Promise.all(this.lanes.map((lane) => lane.exited));
      return undefined;
    }
    this.disposed = true;
    const reports = await Promise.all(this.lanes.map((lane) => lane.close(this.options.disposeTimeoutMs ?? 10_000)));
    return reports.some((r) => r === undefined) ? undefined : totalMemory(reports as TensorMemory[]);
  }

  /** The lane with the fewest requests pending, searched from a turning start. */
  private leastBusy(): number {
    const n = this.lanes.length;
    let best = this.turn % n;
    for (let k = 1; k < n; k++) {
      const i = (this.turn + k) % n;
      if (this.lanes[i].pending.size < this.lanes[best].pending.size) best = i;
    }
    this.turn = best + 1;
    return best;
  }

  private request<T>(lane: Lane, message: (id: number) => ToThread): Promise<T> {
    if (this.gone !== undefined) return this.failed();
    if (this.disposed) return Promise.reject(new TaggingError('the thread tagger is disposed'));
    return lane.request<T>(message);
  }

  /** Rejects with the death's error once onExit has been called (see onThreadExit). */
  private async failed(): Promise<never> {
    await this.down;
    throw this.gone;
  }

  /**
   * A thread ended. Unless it was asked to (dispose), the tagger is unusable
   * without it: the other threads are terminated, and once every thread has
   * ended, onExit is called and every pending and later call rejects. In that
   * order because onExit may end the process (`mentionflow run` exits 70 so
   * that the posts in flight are read again): a process that exits while
   * another thread is inside a TensorFlow kernel crashes in TensorFlow's
   * teardown (a SIGSEGV in 1 of 10 fault runs before this order), and a call
   * rejected before onExit would have its posts dead-lettered.
   */
  private onThreadExit(lane: Lane, code: number, failure: Error | undefined): void {
    if (this.disposed && failure === undefined) {
      // Ended as asked (or terminated after disposeTimeoutMs): the other threads finish their calls.
      lane.rejectAll(new TaggingError('the thread tagger is disposed'));
      return;
    }
    if (this.gone !== undefined) return; // one of the others, ended by the first death's handling
    const why = failure ? `failed: ${failure.message}` : `exited with code ${code}`;
    const gone = new TaggingError(`the inference thread ${why}; calls made to it are lost, restart the worker`, failure ? { cause: failure } : {});
    this.gone = gone;
    const others = this.lanes.filter((other) => other !== lane);
    for (const other of others) void other.worker.terminate();
    this.down = Promise.all(others.map((other) => other.exited)).then(() => {
      this.options.onExit?.(gone);
      for (const l of this.lanes) l.rejectAll(gone);
    });
  }
}

/** One model of a ThreadTagger's threads (initialModel, load); dispose() frees only it. */
class ThreadModel implements Tagger {
  private disposed = false;

  constructor(
    private readonly host: ThreadTagger,
    private readonly model: number,
    readonly modelId: string,
    readonly modelVersion: string,
  ) {}

  tag(texts: readonly string[]): Promise<Mention[][]> {
    if (this.disposed) return Promise.reject(new TaggingError(`model ${this.modelId}@${this.modelVersion} of the inference thread is disposed`));
    return this.host.tagWith(this.model, texts);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.host.unload(this.model);
  }
}
