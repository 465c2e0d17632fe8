/**
 * The input edge of the embedded mode (no Kafka): posts from a file, as the
 * same RawRecords a Kafka source yields, so they run through the same
 * operators. Topic "file:<file name>", partition 0, offset = the record's
 * number in the file (1-based: the line number for NDJSON).
 *
 * Formats, told apart by the first bytes:
 * - Avro object container file ("Obj\x01"): each record, written with a Post
 *   schema version (schemas/post/vN.avsc), is passed on as its Avro binary,
 *   the bytes as stored (so invalid UTF-8 is a dead letter, as from Kafka).
 * - NDJSON: one Post as JSON per line (fields with defaults may be left
 *   out); it is encoded with the latest Post schema. A line that is not a
 *   valid Post is passed on as its raw bytes with the reason (RawRecord's
 *   `problem`: not JSON, or which fields are wrong), so it becomes a dead
 *   letter saying why. Blank lines are skipped.
 *
 * Backpressure as in the Kafka source: reading pauses while maxInFlight
 * records are unacknowledged.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { Observable } from 'rxjs';
import { ConfigError, DecodeError } from '../../common/errors.js';
import { readContainer } from '../../schemas/container.js';
import { FILE_TOPIC_PREFIX, type RawRecord, type RecordRef } from '../../operators/types.js';
import { notJson, postProblem } from '../../schemas/postCheck.js';
import { encodeStrict, loadSchema } from '../../schemas/registry.js';
import { OffsetTracker } from '../core/offsetTracker.js';
import type { RecordSource } from '../core/ports.js';

const AVRO_MAGIC = Buffer.from('Obj\x01', 'latin1');

/** One record of a posts file, as readPostsFile yields it. */
export interface FileRecord {
  /** 1-based record (or line) number. */
  number: number;
  value: Buffer;
  /** Why the line is not a Post (NDJSON lines only): the dead letter's reason. */
  problem?: string;
}

/** The records of a posts file, in order (see the module comment for the formats). */
export async function* readPostsFile(path: string): AsyncGenerator<FileRecord> {
  let head: Buffer;
  try {
    const fd = await open(path, 'r');
    try {
      head = Buffer.alloc(4);
      const { bytesRead } = await fd.read(head, 0, 4, 0);
      head = head.subarray(0, bytesRead);
    } finally {
      await fd.close();
    }
  } catch (err) {
    throw new ConfigError(`cannot read input file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (head.equals(AVRO_MAGIC)) yield* readAvro(path);
  else yield* readNdjson(path);
}

async function* readAvro(path: string): AsyncGenerator<FileRecord> {
  // Each record's bytes as stored, for decodePosts to judge as it judges a
  // Kafka record: decoding and re-encoding them here would turn invalid
  // UTF-8 into U+FFFD and drop a "__proto__" map key. Damage (a truncated or
  // corrupt block) is a ConfigError naming the file and byte offset, never
  // a silent drop.
  try {
    for await (const item of readContainer(path)) {
      if (item.kind === 'record') yield { number: item.index, value: Buffer.from(item.bytes) };
    }
  } catch (err) {
    if (err instanceof DecodeError) throw new ConfigError(`input file ${err.message}`, { cause: err });
    throw err;
  }
}

async function* readNdjson(path: string): AsyncGenerator<FileRecord> {
  const postType = loadSchema('post');
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let number = 0;
  for await (const line of lines) {
    number++;
    if (line.trim() === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (err) {
      yield { number, value: Buffer.from(line, 'utf8'), problem: `line ${number}: ${notJson(err)}` };
      continue;
    }
    // The check `mentionflow produce` makes, in its words.
    const problem = postProblem(postType, json);
    if (problem !== undefined) {
      yield { number, value: Buffer.from(line, 'utf8'), problem: `line ${number}: ${problem}` };
      continue;
    }
    try {
      yield { number, value: encodeStrict(postType, json) };
    } catch (err) {
      // e.g. a missing field, or a lone surrogate escape ("\ud800"), which UTF-8 cannot carry
      yield { number, value: Buffer.from(line, 'utf8'), problem: `line ${number}: not a valid Post: ${(err as Error).message}` };
    }
  }
}

/** Options of FileSource. */
export interface FileSourceOptions {
  path: string;
  /** Records read but not yet acked before reading pauses. */
  maxInFlight: number;
}

/** A RecordSource over a posts file (Avro object container or NDJSON), as `mentionflow run --input` reads it. */
export class FileSource implements RecordSource {
  private readonly tracker = new OffsetTracker();
  private readonly topic: string;
  private stopping = false;
  private waiters: Array<() => void> = [];

  constructor(private readonly opts: FileSourceOptions) {
    if (!Number.isInteger(opts.maxInFlight) || opts.maxInFlight < 1) {
      throw new ConfigError(`FileSource: maxInFlight must be an integer >= 1, got ${String(opts.maxInFlight)}`);
    }
    this.topic = `${FILE_TOPIC_PREFIX}${basename(opts.path)}`;
  }

  records(): Observable<RawRecord> {
    return new Observable<RawRecord>((subscriber) => {
      let cancelled = false;
      const halted = (): boolean => cancelled || this.stopping;
      (async () => {
        for await (const { number, value, problem } of readPostsFile(this.opts.path)) {
          while (!halted() && this.tracker.inFlight() >= this.opts.maxInFlight) await this.progress();
          if (halted()) break;
          const ref: RecordRef = { topic: this.topic, partition: 0, offset: String(number), receivedAt: Date.now() };
          this.tracker.track(ref);
          subscriber.next(problem === undefined ? { ref, key: null, value } : { ref, key: null, value, problem });
        }
        subscriber.complete();
      })().catch((err: unknown) => subscriber.error(err));
      return () => {
        cancelled = true;
        this.wake();
      };
    });
  }

  private progress(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  ack(refs: readonly RecordRef[]): void {
    for (const ref of refs) this.tracker.done(ref);
    this.wake();
  }

  stop(): void {
    this.stopping = true;
    this.wake();
  }
}
