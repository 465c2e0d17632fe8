/**
 * Container block compression on one worker thread (containerWorker.ts),
 * shared by every ContainerEncoder of the process: the archive sink's
 * consumer thread hands a block over (one copy, then a transfer) instead of
 * compressing it (snappy: ~1 us per record) or driving node's async zlib
 * (a zlib stream made, run on libuv's pool and torn down per block: about
 * twice the consumer thread's CPU per block of this path, BENCHMARKS.md
 * archive round 7). The worker starts on first use and keeps the process
 * alive only while a block is in flight.
 */
import { Worker } from 'node:worker_threads';
import { MentionflowError } from '../common/errors.js';
import type { BlockReply, BlockRequest } from './containerWorker.js';
import type { DeflateParams } from './deflate.js';

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, { resolve: (r: { data: Buffer; crc: number | undefined }) => void; reject: (err: Error) => void }>();

function failAll(err: Error): void {
  for (const p of pending.values()) p.reject(err);
  pending.clear();
  worker = undefined;
}

function start(): Worker {
  const w = new Worker(new URL('./containerWorker.js', import.meta.url));
  w.unref();
  w.on('message', (reply: BlockReply) => {
    const p = pending.get(reply.id);
    if (p === undefined) return;
    pending.delete(reply.id);
    if (pending.size === 0) w.unref();
    if (reply.error !== undefined || reply.data === undefined) p.reject(new MentionflowError(`container compression worker: ${reply.error ?? 'no data'}`));
    else p.resolve({ data: Buffer.from(reply.data.buffer, reply.data.byteOffset, reply.data.byteLength), crc: reply.crc });
  });
  w.on('error', (err) => failAll(new MentionflowError(`container compression worker failed: ${err.message}`, { cause: err })));
  w.on('exit', (code) => failAll(new MentionflowError(`container compression worker exited (code ${code})`)));
  return w;
}

/**
 * Hands `raw` to the worker: a copy, transferred; or, with `transfer` (the caller gives `raw`'s
 * ArrayBuffer up: nothing else may use it, and it is detached on return), that ArrayBuffer itself.
 */
function offThread(request: Omit<BlockRequest, 'id' | 'raw'>, raw: Uint8Array, transfer: boolean): Promise<{ data: Buffer; crc: number | undefined }> {
  worker ??= start();
  const w = worker;
  const id = nextId++;
  // Never Buffer's shared pool (an ArrayBuffer of Buffer.poolSize bytes holding many small Buffers): copied whatever the caller says.
  const own = transfer && raw.buffer instanceof ArrayBuffer && raw.buffer.byteLength > Buffer.poolSize ? raw : new Uint8Array(raw);
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    if (pending.size === 1) w.ref();
    w.postMessage({ ...request, id, raw: own } satisfies BlockRequest, [own.buffer as ArrayBuffer]);
  });
}

/** `raw` compressed (snappy raw format) on the worker thread, with the CRC32 of `raw`; `transfer`: see offThread. */
export async function snappyOffThread(raw: Uint8Array, transfer = false): Promise<{ data: Buffer; crc: number }> {
  const { data, crc } = await offThread({ codec: 'snappy' }, raw, transfer);
  if (crc === undefined) throw new MentionflowError('container compression worker: no CRC32 for a snappy block');
  return { data, crc };
}

/** `raw` compressed as raw deflate (deflate.ts's deflateBlock with `params`) on the worker thread; `transfer`: see offThread. */
export async function deflateOffThread(raw: Uint8Array, params: DeflateParams, transfer = false): Promise<Buffer> {
  return (await offThread({ codec: 'deflate', deflate: params }, raw, transfer)).data;
}
