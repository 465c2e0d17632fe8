/**
 * A Tagger whose NeuralTagger runs in a node:worker_threads thread, so the
 * calling thread (Kafka I/O, Avro decoding, encoding) keeps running while a
 * batch is tagged. Texts go in by structured clone (a copy of each string);
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
 * The thread does not keep the process alive while no call is pending.
 * TensorFlow's thread pool is sized by the environment as in-process
 * (`mentionflow run` asks for one thread: models/backend.ts,
 * preferOneComputeThread).
 */
import { Worker } from 'node:worker_threads';
import { TaggingError } from '../common/errors.js';
import type { BackendChoice, BackendName } from './backend.js';
import type { Mention, Tagger } from './tagger.js';
import { fromWire, unpackMentions, type FromThread, type PackedMentions, type TensorMemory, type ThreadInit, type ToThread } from './threadProtocol.js';

export type { TensorMemory } from './threadProtocol.js';

/** Options of ThreadTagger.open. */
export interface ThreadTaggerOptions {
  /** Compute backend, chosen in the thread as models/backend.ts's useBackend does. Default 'auto'. */
  backend?: BackendChoice;
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
  /** Test hook: the thread exits (code 7) when asked to tag this exact text. */
  exitOnText?: string;
}

interface Pending {
  resolve: (value: never) => void;
  reject: (err: Error) => void;
}

const warner = (options: ThreadTaggerOptions) => options.warn ?? ((m: string) => void process.stderr.write(`warning: ${m}\n`));

const WORKER_FILE = new URL('./threadTaggerWorker.js', import.meta.url);

/** A Tagger running a NeuralTagger in a worker thread (see the module comment); create one with `ThreadTagger.open(dir, options)`. */
export class ThreadTagger implements Tagger {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Set once the thread is gone (or going): the error later calls get. */
  private gone: TaggingError | undefined;
  private disposed = false;
  private disposedMemory: ((memory: TensorMemory | undefined) => void) | undefined;
  /** tf.memory() in the thread as of its last reply that carried it. */
  private lastMemory: TensorMemory | undefined;
  private readonly exited: Promise<number>;

  private constructor(
    private readonly worker: Worker,
    readonly modelId: string,
    readonly modelVersion: string,
    /** The backend the thread runs on. */
    readonly backend: BackendName,
    private readonly options: ThreadTaggerOptions,
  ) {
    worker.on('message', (m: FromThread) => this.onMessage(m));
    let failure: Error | undefined;
    worker.on('error', (err) => (failure = err));
    this.exited = new Promise((resolve) =>
      worker.once('exit', (code) => {
        this.onThreadExit(code, failure);
        resolve(code);
      }),
    );
    worker.unref();
  }

  /** Starts the thread and loads the model there; resolves once it is ready to tag. */
  static open(modelDir: string, options: ThreadTaggerOptions = {}): Promise<ThreadTagger> {
    const init: ThreadInit = {
      modelDir,
      backend: options.backend ?? 'auto',
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
      ...(options.sliceChars !== undefined ? { sliceChars: options.sliceChars } : {}),
      ...(options.exitOnText !== undefined ? { exitOnText: options.exitOnText } : {}),
    };
    const warn = warner(options);
    // As useBackend does in-process; set here because a thread's process.env is its own copy.
    process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
    const worker = new Worker(WORKER_FILE, { workerData: init });
    return new Promise<ThreadTagger>((resolve, reject) => {
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
          resolve(new ThreadTagger(worker, m.modelId, m.modelVersion, m.backend, options));
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
        reject(new TaggingError(`the inference thread ${why} before the model ${modelDir} was loaded`, failure ? { cause: failure } : {}));
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }

  /** Mentions per text, tagged in the thread (by the model it was opened with). */
  async tag(texts: readonly string[]): Promise<Mention[][]> {
    return this.tagWith(0, texts);
  }

  /**
   * The model the thread was opened with, as a Tagger of its own whose
   * dispose() frees only that model (the thread stays until this
   * ThreadTagger is disposed): for a SwappableTagger, with load().
   */
  initialModel(): Tagger {
    return new ThreadModel(this, 0, this.modelId, this.modelVersion);
  }

  /**
   * Loads another artifact into this same thread (no new TensorFlow runtime
   * to start) and returns it as a Tagger whose dispose() frees only it.
   * Rejects as open() would for a missing or corrupt artifact.
   */
  async load(modelDir: string): Promise<Tagger> {
    const m = await this.request<{ model: number; modelId: string; modelVersion: string }>((id) => ({ type: 'load', id, modelDir }));
    return new ThreadModel(this, m.model, m.modelId, m.modelVersion);
  }

  /** @internal For ThreadModel. */
  async tagWith(model: number, texts: readonly string[]): Promise<Mention[][]> {
    return unpackMentions(await this.request<PackedMentions>((id) => ({ type: 'tag', id, texts, ...(model === 0 ? {} : { model }) })), texts);
  }

  /** @internal For ThreadModel. */
  unload(model: number): void {
    if (this.disposed || this.gone !== undefined) return;
    this.post({ type: 'unload', model });
  }

  /**
   * tf.memory() of the thread: live tensors and their bytes. While calls are
   * pending (the thread may be computing) it resolves at once with the figures
   * of the last reply, so a /metrics scrape never waits for the thread.
   */
  memory(): Promise<TensorMemory> {
    if (this.lastMemory !== undefined && this.pending.size > 0 && this.gone === undefined && !this.disposed) return Promise.resolve({ ...this.lastMemory });
    return this.request<TensorMemory>((id) => ({ type: 'memory', id }));
  }

  /**
   * Lets the thread finish the calls already made, dispose the model and end;
   * terminates it if that takes longer than disposeTimeoutMs. Later calls
   * reject.
   */
  dispose(): void {
    void this.close();
  }

  /**
   * dispose(), resolving when the thread has ended, with its tf.memory() after
   * the model was disposed (undefined if it had to be terminated or was gone).
   */
  close(): Promise<TensorMemory | undefined> {
    if (this.disposed || this.gone !== undefined) return this.exited.then(() => undefined);
    this.disposed = true;
    const reported = new Promise<TensorMemory | undefined>((resolve) => (this.disposedMemory = resolve));
    this.worker.ref();
    this.post({ type: 'dispose' });
    const timer = setTimeout(() => void this.worker.terminate(), this.options.disposeTimeoutMs ?? 10_000);
    timer.unref();
    return this.exited.then(() => {
      clearTimeout(timer);
      this.disposedMemory?.(undefined); // terminated: no report (a report comes before 'exit')
      return reported;
    });
  }

  private request<T>(message: (id: number) => ToThread): Promise<T> {
    if (this.gone !== undefined) return Promise.reject(this.gone);
    if (this.disposed) return Promise.reject(new TaggingError('the thread tagger is disposed'));
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

  private post(message: ToThread): void {
    this.worker.postMessage(message);
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (this.pending.size === 0 && !this.disposed) this.worker.unref();
    return p;
  }

  private onMessage(m: FromThread): void {
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
        warner(this.options)(m.message);
        break;
      default:
        break;
    }
  }

  private onThreadExit(code: number, failure: Error | undefined): void {
    const expected = this.disposed && failure === undefined;
    const why = failure ? `failed: ${failure.message}` : `exited with code ${code}`;
    this.gone = expected
      ? new TaggingError('the thread tagger is disposed')
      : new TaggingError(`the inference thread ${why}; calls made to it are lost, restart the worker`, failure ? { cause: failure } : {});
    if (!expected) this.options.onExit?.(this.gone);
    for (const [id, p] of [...this.pending]) {
      this.pending.delete(id);
      p.reject(this.gone);
    }
  }
}

/** One model of a ThreadTagger's thread (initialModel, load); dispose() frees only it. */
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
