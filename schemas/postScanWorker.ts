/**
 * Worker thread of PostScanPool (postScanPool.ts): checks packed batches of
 * Post records (postScan.ts) off the consumer's thread. The records are read
 * in place from the shared buffer; statuses and event times are sent back
 * (transferred). Does nothing when not started as a worker.
 */
import { parentPort } from 'node:worker_threads';
import { checkPosts } from './postScan.js';


export interface PostScanRequest {
  id: number;
  data: SharedArrayBuffer;
  offset: number;
  length: number;
  ends: Uint32Array;
  timestamps: Float64Array;
  count: number;
}

export interface PostScanReply {
  id: number;
  status?: Uint8Array;
  times?: Float64Array;
  error?: string;
}

const port = parentPort;
if (port !== null) {
  port.on('message', (req: PostScanRequest) => {
    try {
      const status = new Uint8Array(req.count);
      const times = new Float64Array(req.count);
      checkPosts(Buffer.from(req.data, req.offset, req.length), req.ends, req.timestamps, req.count, status, times);
      port.postMessage({ id: req.id, status, times } satisfies PostScanReply, [status.buffer, times.buffer]);
    } catch (err) {
      port.postMessage({ id: req.id, error: (err as Error)?.stack ?? String(err) } satisfies PostScanReply);
    }
  });
}
