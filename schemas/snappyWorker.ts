/**
 * Worker thread of snappyThread.ts: compresses one container block (snappy
 * raw format, schemas/snappy.ts) and its CRC32 off the consumer's thread.
 * The input is transferred in, the output transferred back. Does nothing
 * when not started as a worker.
 */
import { parentPort } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { snappyCompress } from './snappy.js';

export interface SnappyRequest {
  id: number;
  raw: Uint8Array;
}

export interface SnappyReply {
  id: number;
  data?: Uint8Array;
  crc?: number;
  error?: string;
}

const port = parentPort;
if (port !== null) {
  port.on('message', (req: SnappyRequest) => {
    try {
      // A copy of its own (the compressor's output may sit in Buffer's shared pool), so it can be transferred.
      const data = new Uint8Array(snappyCompress(req.raw));
      port.postMessage({ id: req.id, data, crc: crc32(req.raw) } satisfies SnappyReply, [data.buffer]);
    } catch (err) {
      port.postMessage({ id: req.id, error: (err as Error)?.stack ?? String(err) } satisfies SnappyReply);
    }
  });
}
