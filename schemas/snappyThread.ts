/**
 * Snappy block compression on one worker thread (snappyWorker.ts), shared
 * by every ContainerEncoder of the process: the archive sink's consumer
 * thread hands a block over (one copy, then a transfer) instead of spending
 * ~1 us per record compressing it. The worker starts on first use and keeps
 * the process alive only while a block is in flight.
 */
import { Worker } from 'node:worker_threads';
import { MentionflowError } from '../common/errors.js';
import type { SnappyReply, SnappyRequest } from './snappyWorker.js';

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, { resolve: (r: { data: Buffer; crc: number }) => void; reject: (err: Error) => void }>();

function failAll(err: Error): void {
  for (const p of pending.values()) p.reject(err);
  pending.clear();
  worker = undefined;
}

function start(): Worker {
  const w = new Worker(new URL('./snappyWorker.js', import.meta.url));
  w.unref();
  w.on('message', (reply: SnappyReply) => {
    const p = pending.get(reply.id);
    if (p === undefined) return;
    pending.delete(reply.id);
    if (pending.size === 0) w.unref();
    if (reply.error !== undefined || reply.data === undefined || reply.crc === undefined) p.reject(new MentionflowError(`snappy worker: ${reply.error ?? 'no data'}`));
    else p.resolve({ data: Buffer.from(reply.data.buffer, reply.data.byteOffset, reply.data.byteLength), crc: reply.crc });
  });
  w.on('error', (err) => failAll(new MentionflowError(`snappy worker failed: ${err.message}`, { cause: err })));
  w.on('exit', (code) => failAll(new MentionflowError(`snappy worker exited (code ${code})`)));
  return w;
}

/** `raw` compressed (snappy raw format) on the worker thread, with the CRC32 of `raw`. */
export function snappyOffThread(raw: Uint8Array): Promise<{ data: Buffer; crc: number }> {
  worker ??= start();
  const w = worker;
  const id = nextId++;
  const copy = new Uint8Array(raw);
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    if (pending.size === 1) w.ref();
    w.postMessage({ id, raw: copy } satisfies SnappyRequest, [copy.buffer]);
  });
}
