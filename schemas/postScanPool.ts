/**
 * Runs checkPosts (postScan.ts) on packed batches of Post records, on
 * worker threads (`threads` > 0) or on the calling thread (`threads` 0).
 * A batch's records must be in a buffer from alloc() (shared memory when
 * there are workers: they read it in place, nothing is copied). Batches are
 * handed to the workers in turn; each check resolves on its own, so a caller
 * needing order awaits them in its own order. A worker that fails rejects
 * its checks and every later one (fail-stop, like the sink).
 */
import { Worker } from 'node:worker_threads';
import { ConfigError, MentionflowError } from '../common/errors.js';
import { checkPosts } from './postScan.js';
import type { PostScanReply, PostScanRequest } from './postScanWorker.js';

export interface PostScans {
  status: Uint8Array;
  times: Float64Array;
}

export class PostScanPool {
  private readonly workers: Worker[] = [];
  private readonly waiting = new Map<number, { resolve: (c: PostScans) => void; reject: (e: unknown) => void }>();
  private next = 0;
  private ids = 0;
  private failure: unknown;

  constructor(readonly threads: number) {
    if (!Number.isInteger(threads) || threads < 0) throw new ConfigError(`archive: check threads must be an integer >= 0, got ${JSON.stringify(threads)}`);
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(new URL('./postScanWorker.js', import.meta.url));
      worker.unref(); // a sink that is never stopped does not keep the process alive
      worker.on('message', (reply: PostScanReply) => this.reply(reply));
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (this.workers.includes(worker)) this.fail(new MentionflowError(`archive: a Post check worker exited (code ${code})`));
      });
      this.workers.push(worker);
    }
  }

  /** A buffer for a batch of `bytes`: shared memory when checks run on workers. */
  alloc(bytes: number): Buffer {
    return this.workers.length === 0 ? Buffer.allocUnsafe(bytes) : Buffer.from(new SharedArrayBuffer(bytes));
  }

  /** Checks records [ends[i-1], ends[i]) of `data` (from alloc()), i < count. */
  check(data: Buffer, ends: Uint32Array, timestamps: Float64Array, count: number): Promise<PostScans> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.workers.length === 0) {
      try {
        const status = new Uint8Array(count);
        const times = new Float64Array(count);
        checkPosts(data, ends, timestamps, count, status, times);
        return Promise.resolve({ status, times });
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const id = this.ids++;
    const worker = this.workers[this.next];
    this.next = (this.next + 1) % this.workers.length;
    return new Promise<PostScans>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      const req: PostScanRequest = { id, data: data.buffer as SharedArrayBuffer, offset: data.byteOffset, length: data.length, ends, timestamps, count };
      worker.postMessage(req);
    });
  }

  private reply(reply: PostScanReply): void {
    const w = this.waiting.get(reply.id);
    if (w === undefined) return;
    this.waiting.delete(reply.id);
    if (reply.error !== undefined || reply.status === undefined || reply.times === undefined) w.reject(new MentionflowError(`archive: a Post check failed in its worker: ${reply.error ?? 'no result'}`));
    else w.resolve({ status: reply.status, times: reply.times });
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(this.failure);
  }

  /** Stops the workers; checks still waiting reject. */
  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    this.fail(new MentionflowError('archive: the Post check pool is closed'));
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
