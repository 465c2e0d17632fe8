/**
 * Worker thread of containerThread.ts: compresses one container block off the
 * consumer's thread, snappy (raw format, schemas/snappy.ts, with the CRC32 of
 * the input) or deflate (raw, schemas/deflate.ts's deflateBlock with the
 * encoder's engine, level, memLevel and strategy). The input is transferred in, the output
 * transferred back. Does nothing when not started as a worker.
 */
import { parentPort } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { deflateBlock, type DeflateParams } from './deflate.js';
import { snappyCompress } from './snappy.js';

export interface BlockRequest {
  id: number;
  raw: Uint8Array;
  /** snappy, or deflate with these parameters. */
  codec: 'snappy' | 'deflate';
  deflate?: DeflateParams;
}

export interface BlockReply {
  id: number;
  data?: Uint8Array;
  /** CRC32 of the input (snappy only). */
  crc?: number;
  error?: string;
}

const port = parentPort;
if (port !== null) {
  port.on('message', (req: BlockRequest) => {
    try {
      if (req.codec === 'deflate' && req.deflate === undefined) throw new Error('a deflate request without its parameters');
      const out = req.codec === 'snappy' ? snappyCompress(req.raw) : deflateBlock(req.raw, req.deflate as DeflateParams);
      // Transferred: as it is when it owns its whole ArrayBuffer (libdeflate's output), else a copy of
      // its own (zlib's output may sit in a larger buffer or Buffer's shared pool).
      const whole = out.byteOffset === 0 && out.buffer.byteLength === out.length && out.buffer instanceof ArrayBuffer;
      const data = whole ? out : new Uint8Array(out);
      const reply: BlockReply = req.codec === 'snappy' ? { id: req.id, data, crc: crc32(req.raw) } : { id: req.id, data };
      port.postMessage(reply, [data.buffer as ArrayBuffer]);
    } catch (err) {
      port.postMessage({ id: req.id, error: (err as Error)?.stack ?? String(err) } satisfies BlockReply);
    }
  });
}
