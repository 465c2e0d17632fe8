/**
 * The file side of the archive sink: records of one topic, appended in
 * offset order per partition, go to rolling Avro object container files
 * (schemas/container.ts's ContainerEncoder, records stored as consumed) in
 * the layout of archiveLayout.ts, one open file per partition and event
 * hour. No Kafka here: the consumer (pipeline/kafka/archiveConsumer.ts)
 * appends, asks which partitions are due, flushes them and commits the
 * offsets flush returns.
 *
 * - Rolling: a partition is due when one of its open files holds maxBytes
 *   (encoded) or was opened maxAgeMs ago; flushing a partition closes all
 *   its open files, so after a flush every record up to the partition's
 *   last appended offset is in a complete file and that offset + 1 may be
 *   committed.
 * - Blocks: records are copied into a block buffer as they come (appendBatch:
 *   a run of records in one piece); a full block is handed at once to the
 *   compression worker thread (schemas/containerThread.ts), several blocks
 *   queued at a time, while its file's writes stay in block order. At most
 *   maxBlocksInFlight blocks are compressing or being written at once across
 *   all files: past that, append waits (returns a promise) until one is
 *   written (the consumer's backpressure), so the memory held is bounded.
 * - Durability: a file is written as `<final name minus .avro>.tmp` in the
 *   partition owner's staging folder (archiveLayout.ts's stagingDir),
 *   fsynced, renamed to its final name, and its folder fsynced; only then
 *   does flush return the commit offset.
 * - Fenced renames: several sinks share a topic's partitions, and one
 *   stalled past its session timeout (a long pause, SIGSTOP) does not know
 *   that its partitions were given to another until its next request to
 *   the broker: Kafka then refuses its commits, but its renames would still
 *   put files in place whose records the new owner archives too. So each
 *   owner of a partition writes in a staging folder of its own, named by
 *   its epoch (the consumer group's generation) and a token unique to the
 *   roller, and prepare() FENCES the others before it lists the partition's
 *   files: it creates its own folder, gives up (the partition is fenced
 *   here) if a folder of a newer epoch exists (unless the caller's check
 *   says its epoch is current: the folder is then a leftover of an earlier
 *   life of the group), else renames every other folder of the partition
 *   out of the way (fencedDir, then removed). A
 *   rename is atomic: a stalled owner's later rename of a staged file, or
 *   open of a new one, fails (ENOENT) because its folder is gone, and a
 *   rename that happened before the fence is a complete file the listing
 *   sees. A fenced partition drops its open files, flush() returns no
 *   offset to commit (Kafka would refuse it anyway), appends are ignored,
 *   and onFenced is called, until drop() (the next assignment). Two owners
 *   that prepare at once both see each other's folder: the older one gives
 *   up, or its folder is moved away by the newer one.
 * - Exactly once across kill -9: records between the committed offset and
 *   what was already renamed come again after a restart. Before the first
 *   record of a partition is taken, its complete files are listed
 *   (listArchive) and a record is skipped when a file of its own hour
 *   already covers its offset (that file holds every record of that hour in
 *   its range); a crashed owner's staging folder is fenced (removed). So each
 *   offset ends up in exactly one file whatever the roll points were.
 */
import { randomBytes } from 'node:crypto';
import { access, mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../../common/errors.js';
import { ContainerEncoder, type ContainerCodec, type DeflateStrategy } from '../../schemas/container.js';
import type { DeflateEngine, DeflateEngineChoice } from '../../schemas/deflate.js';
import { archiveFileName, fencedDir, hourDir, hourOf, listArchive, padOffset, stagingDir, type HourKey } from './archiveLayout.js';

/** Options of {@link ArchiveRoller}. */
export interface ArchiveRollerOptions {
  /** Archive root folder (created if missing). */
  dir: string;
  /** The topic archived (first path component and file name prefix). */
  topic: string;
  /** Writer schema of the records (JSON): every appended value must be its Avro binary. */
  schema: object;
  /** Roll a file once it holds this many encoded bytes; default 64 MiB. */
  maxBytes?: number;
  /** Roll a file this long after it was opened; default 10 minutes. */
  maxAgeMs?: number;
  /** Records are encoded into blocks of about this many bytes; default 256 KiB. */
  blockBytes?: number;
  /**
   * Blocks compressing or being written at once, across all files, before append
   * waits; default 8 (about 2 MiB of raw blocks with the default blockBytes).
   */
  maxBlocksInFlight?: number;
  /** Block compression; default deflate. */
  codec?: ContainerCodec;
  /** zlib level of the deflate codec (1 fastest .. 9 smallest); default 6. */
  deflateLevel?: number;
  /** zlib strategy of the deflate codec; default 'default'. */
  deflateStrategy?: DeflateStrategy;
  /** The library that deflates (schemas/deflate.ts); default 'auto': ISA-L, else libdeflate, where the addon has them, else zlib. */
  deflateEngine?: DeflateEngineChoice;
  /** Called after each file is renamed into place. */
  onFile?: (file: { path: string; partition: number; first: number; last: number; records: number; bytes: number }) => void;
  /**
   * Called once when a partition is fenced (another owner of a newer epoch took its staging
   * folder, or holds one already at prepare()): `files` open files were dropped unrenamed,
   * holding `records` records, and no offset is committed for them.
   */
  onFenced?: (fence: { partition: number; epoch: number; files: number; records: number; when: 'prepare' | 'open' | 'rename'; newer?: string }) => void;
  /**
   * Called when prepare() fenced staging folders of a newer epoch than its own, its `current`
   * check having said that its epoch is the group's current one (so they are from an earlier life
   * of the group, which starts its generations over when it is deleted and created again).
   */
  onForeign?: (foreign: { partition: number; epoch: number; folders: string[] }) => void;
  now?: () => number;
}

interface OpenFile {
  key: HourKey;
  dirPath: string;
  temp: string;
  handle: FileHandle;
  encoder: ContainerEncoder;
  first: number;
  last: number;
  records: number;
  /** The records of the block being filled, copied end to end (no Buffer kept per record). */
  pending: Buffer;
  pendingBytes: number;
  pendingCount: number;
  /** Bytes written or being written (blocks counted by their raw size until compressed). */
  bytes: number;
  openedAt: number;
  /** Block writes, in block order (each block's compression starts as soon as it is full). */
  writing: Promise<void>;
  failure: unknown;
}

interface PartitionState {
  /** This owner's staging folder of the partition (temporary files). */
  staging: string;
  /** The epoch it was prepared with (the consumer group's generation). */
  epoch: number;
  /** Set once another owner fenced this one: nothing more is written, renamed or committed. */
  fenced: boolean;
  /** Hour -> offset ranges already archived (complete files). */
  covered: Map<string, Array<[number, number]>>;
  open: Map<string, OpenFile>;
  /** Highest offset appended or skipped. */
  lastSeen: number;
}

/** What became of an appended record. */
export type AppendResult = 'appended' | 'skipped';

export class ArchiveRoller {
  private readonly partitions = new Map<number, PartitionState>();
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;
  private readonly blockBytes: number;
  private readonly maxBlocksInFlight: number;
  private readonly now: () => number;
  /** The library that deflates this roller's files (codec deflate), else undefined. */
  readonly deflateEngine: DeflateEngine | undefined;
  /** Blocks queued and not yet written (or failed), across all files. */
  private inFlight = 0;
  /** Appends waiting for inFlight to drop below maxBlocksInFlight. */
  private roomWaiters: Array<() => void> = [];
  /** This roller's part of its staging folder names: unique per process and roller. */
  private readonly owner = `${process.pid}-${randomBytes(4).toString('hex')}`;
  /** Staging folders created so far (a partition prepared again gets a new one). */
  private stagings = 0;

  constructor(private readonly opts: ArchiveRollerOptions) {
    const positive = (name: string, v: number | undefined, dflt: number): number => {
      const value = v ?? dflt;
      if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`archive: ${name} must be a number > 0, got ${JSON.stringify(v)}`);
      return value;
    };
    if (!opts.dir) throw new ConfigError('archive: dir is required');
    if (!opts.topic || /[/\\]/.test(opts.topic)) throw new ConfigError(`archive: topic must be a topic name, got ${JSON.stringify(opts.topic)}`);
    this.maxBytes = positive('maxBytes', opts.maxBytes, 64 * 1024 * 1024);
    this.maxAgeMs = positive('maxAgeMs', opts.maxAgeMs, 10 * 60 * 1000);
    this.blockBytes = Math.min(positive('blockBytes', opts.blockBytes, 256 * 1024), this.maxBytes);
    this.maxBlocksInFlight = positive('maxBlocksInFlight', opts.maxBlocksInFlight, 8);
    if (!Number.isInteger(this.maxBlocksInFlight)) throw new ConfigError(`archive: maxBlocksInFlight must be an integer > 0, got ${JSON.stringify(opts.maxBlocksInFlight)}`);
    this.now = opts.now ?? Date.now;
    // Checked here, at construction, not at the first file.
    this.deflateEngine = this.encoder().deflateEngine;
  }

  /** A file's encoder (a fresh sync marker), as the options say. */
  private encoder(): ContainerEncoder {
    const o = this.opts;
    return new ContainerEncoder({
      schema: o.schema,
      codec: o.codec ?? 'deflate',
      ...(o.deflateLevel !== undefined ? { level: o.deflateLevel } : {}),
      ...(o.deflateStrategy !== undefined ? { strategy: o.deflateStrategy } : {}),
      ...(o.deflateEngine !== undefined ? { engine: o.deflateEngine } : {}),
    });
  }

  /**
   * Takes a partition over (fence, then list): creates this owner's staging folder, fences every
   * other owner's folder of the partition (or is fenced, when one of a newer epoch exists), then
   * lists the partition's complete files and removes stale temporary files an older version left
   * in the date= folders.
   */
  private async state(partition: number, epoch: number, current: (() => Promise<boolean>) | undefined): Promise<PartitionState> {
    let state = this.partitions.get(partition);
    if (state !== undefined) return state;
    const root = stagingDir(this.opts.dir, this.opts.topic, partition);
    const mine = `${String(epoch).padStart(10, '0')}-${this.owner}-${++this.stagings}`;
    const staging = join(root, mine);
    await mkdir(root, { recursive: true });
    await mkdir(staging);
    const others = (await readdir(root)).filter((name) => name !== mine);
    state = { staging, epoch, fenced: false, covered: new Map(), open: new Map(), lastSeen: -1 };
    const newer = others.filter((name) => epochOf(name) > epoch);
    // A folder of a newer epoch: this owner is stale, unless its epoch is the group's current one
    // (then the folder is from an earlier life of the group: fenced like any other).
    if (newer.length > 0 && !(current !== undefined && (await current()))) {
      // An owner of a newer generation holds the partition: this one is stale and gives up.
      await rm(staging, { recursive: true, force: true });
      state.fenced = true;
      this.partitions.set(partition, state);
      this.opts.onFenced?.({ partition, epoch, files: 0, records: 0, when: 'prepare', newer: join(root, newer[0]) });
      return state;
    }
    if (newer.length > 0) this.opts.onForeign?.({ partition, epoch, folders: newer.map((name) => join(root, name)) });
    // The fence: each other folder is moved away in one rename, so a rename out of it either
    // happened before (and the listing below sees its file) or fails.
    const fenced = fencedDir(this.opts.dir, this.opts.topic);
    await mkdir(fenced, { recursive: true });
    for (const name of others) {
      const away = join(fenced, `${partition}+${name}+${randomBytes(4).toString('hex')}`);
      try {
        await rename(join(root, name), away);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed by its owner, or fenced by another
        throw err;
      }
    }
    // Removed only now, out of the way: removing the files one by one in place would not fence.
    for (const name of await readdir(fenced)) if (name.startsWith(`${partition}+`)) await rm(join(fenced, name), { recursive: true, force: true });
    const { files, temporary } = await listArchive(this.opts.dir, this.opts.topic, partition);
    for (const t of temporary) await rm(t, { force: true });
    for (const f of files) {
      const k = `${f.date}/${f.hour}`;
      const list = state.covered.get(k) ?? [];
      list.push([f.first, f.last]);
      state.covered.set(k, list);
    }
    this.partitions.set(partition, state);
    return state;
  }

  /** Whether a partition's archive state is loaded (append needs it: call prepare first). */
  ready(partition: number): boolean {
    return this.partitions.has(partition);
  }

  /**
   * Takes a partition over and loads its archive state (list of complete files); idempotent until
   * drop(). `epoch` orders the owners of a partition (the consumer group's generation): a newer
   * one fences an older one. Resolves with 'fenced' when an owner of a newer epoch holds it
   * already (then nothing of it is written here until drop()), unless `current` (asked only
   * then) resolves true: the epoch is the group's current one, the newer folder a leftover.
   * The fence itself keeps the archive exactly-once whatever the epochs; they only keep a stale
   * owner from fencing the current one.
   */
  async prepare(partition: number, epoch = 0, current?: () => Promise<boolean>): Promise<'owned' | 'fenced'> {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new ConfigError(`archive: epoch must be an integer >= 0, got ${epoch}`);
    return (await this.state(partition, epoch, current)).fenced ? 'fenced' : 'owned';
  }

  /** Whether a partition was fenced by another owner (until drop()). */
  fenced(partition: number): boolean {
    return this.partitions.get(partition)?.fenced === true;
  }

  /** Marks an offset as passed without archiving it (a dead letter): it counts for the commit offset. */
  seen(partition: number, offset: number): void {
    const state = this.partitions.get(partition);
    if (state === undefined) throw new ConfigError(`archive: partition ${partition} seen before prepare()`);
    state.lastSeen = Math.max(state.lastSeen, offset);
  }

  /**
   * Appends one record (offsets in increasing order per partition).
   * `eventTime` decides the hour folder. Skips a record an existing file
   * already holds, and one at or before the last offset appended or seen. The partition must be prepared. Returns a promise only
   * when a new file is opened or maxBlocksInFlight blocks are in flight: await it before the next append. The record
   * is bytes [start, end) of `value` (default: all of it), copied.
   */
  append(partition: number, offset: number, eventTime: number, value: Buffer, start = 0, end = value.length): AppendResult | Promise<AppendResult> {
    const state = this.partitions.get(partition);
    if (state === undefined) throw new ConfigError(`archive: partition ${partition} appended before prepare()`);
    if (state.fenced) return 'skipped';
    // A record at or before the last one passed came again (a batch retried or fetched twice): it is in a file already.
    if (offset <= state.lastSeen) return 'skipped';
    state.lastSeen = offset;
    const { key, k } = this.hour(eventTime);
    if (state.covered.get(k)?.some(([a, b]) => a <= offset && offset <= b) === true) return 'skipped';
    const file = state.open.get(k);
    // Synchronous unless a file must be opened: no promise per record on the common path.
    if (file !== undefined) return this.add(file, offset, value, start, end);
    return this.openFile(partition, state, key, offset).then((opened) => {
      if (opened === undefined) return 'skipped'; // fenced
      state.open.set(k, opened);
      return this.add(opened, offset, value, start, end);
    });
  }

  /**
   * Appends a fetched batch whose records are grouped by event hour: group g is records
   * [groupStarts[g], groupStarts[g + 1]) (offsets increasing within a group), of event time
   * groupTimes[g]; record i is bytes [i === 0 ? 0 : ends[i - 1], ends[i]) of `data`. The same
   * records in the same files as append() of each record in offset order (a record at or before
   * the last offset passed before the batch, or in a file of its hour already, is skipped), but
   * each run of records kept is copied in one piece per block instead of one record at a time.
   * The partition must be prepared; afterwards the last offset passed is the batch's highest.
   * Resolves with the number of records appended.
   */
  async appendBatch(partition: number, batch: { offsets: Float64Array; ends: Uint32Array; data: Buffer; groupStarts: Uint32Array; groupTimes: Float64Array; groups: number }): Promise<number> {
    const state = this.partitions.get(partition);
    if (state === undefined) throw new ConfigError(`archive: partition ${partition} appended before prepare()`);
    if (state.fenced) return 0;
    const { offsets, ends, data, groupStarts, groupTimes } = batch;
    const floor = state.lastSeen;
    let appended = 0;
    let highest = floor;
    for (let g = 0; g < batch.groups; g++) {
      const from = groupStarts[g];
      const to = groupStarts[g + 1];
      if (to > from) highest = Math.max(highest, offsets[to - 1]);
      const { key, k } = this.hour(groupTimes[g]);
      const covered = state.covered.get(k);
      let file = state.open.get(k);
      // The records kept and not yet copied: [run, i).
      let run = -1;
      for (let i = from; i <= to; i++) {
        const offset = i < to ? offsets[i] : NaN;
        const keep = i < to && offset > floor && covered?.some(([a, b]) => a <= offset && offset <= b) !== true;
        if (keep && run < 0) run = i;
        if (keep && file !== undefined) {
          // Does the block fill with record i? Then copy up to it and hand the block over.
          if (file.pendingBytes + ends[i] - (run === 0 ? 0 : ends[run - 1]) < this.blockBytes) continue;
          appended += this.copyRun(file, offsets, ends, data, run, i + 1);
          run = -1;
          this.writeBlock(file);
          if (this.inFlight >= this.maxBlocksInFlight) await this.room();
          continue;
        }
        if (keep) {
          // The hour's first record: its file is opened, then the record is looked at again.
          file = await this.openFile(partition, state, key, offset);
          if (file === undefined) return appended; // fenced: nothing of the partition is kept
          state.open.set(k, file);
          i--;
          continue;
        }
        if (run >= 0 && file !== undefined) appended += this.copyRun(file, offsets, ends, data, run, i);
        run = -1;
      }
    }
    state.lastSeen = highest;
    return appended;
  }

  /** Copies records [from, to) of a batch (bytes [ends[from - 1], ends[to - 1]) of data) into the file's block; their count. */
  private copyRun(file: OpenFile, offsets: Float64Array, ends: Uint32Array, data: Buffer, from: number, to: number): number {
    const start = from === 0 ? 0 : ends[from - 1];
    this.copyIn(file, data, start, ends[to - 1]);
    file.pendingCount += to - from;
    file.records += to - from;
    file.last = offsets[to - 1];
    return to - from;
  }

  private add(file: OpenFile, offset: number, value: Buffer, start: number, end: number): AppendResult | Promise<AppendResult> {
    this.copyIn(file, value, start, end);
    file.pendingCount += 1;
    file.last = offset;
    file.records += 1;
    if (file.pendingBytes >= this.blockBytes) {
      this.writeBlock(file);
      if (this.inFlight >= this.maxBlocksInFlight) return this.room().then(() => 'appended' as const);
    }
    return 'appended';
  }

  /** Copies bytes [start, end) of `src` to the end of the file's block buffer, growing it when full. */
  private copyIn(file: OpenFile, src: Buffer, start: number, end: number): void {
    const length = end - start;
    if (file.pendingBytes + length > file.pending.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * file.pending.length, file.pendingBytes + length));
      file.pending.copy(grown, 0, 0, file.pendingBytes);
      file.pending = grown;
    }
    // TypedArray set, not Buffer copy: node 20's copy validates its arguments in JS first
    file.pending.set(src.subarray(start, end), file.pendingBytes);
    file.pendingBytes += length;
  }

  /** Resolves once fewer than maxBlocksInFlight blocks are in flight. */
  private room(): Promise<void> {
    if (this.inFlight < this.maxBlocksInFlight) return Promise.resolve();
    return new Promise<void>((resolve) => this.roomWaiters.push(resolve)).then(() => this.room());
  }

  private blockDone(): void {
    this.inFlight -= 1;
    const waiting = this.roomWaiters;
    this.roomWaiters = [];
    for (const resolve of waiting) resolve();
  }

  private readonly hours = new Map<number, { key: HourKey; k: string }>();

  /** The hour of an event time, cached (toISOString per record costs more than the rest of append). */
  private hour(ms: number): { key: HourKey; k: string } {
    const index = Math.floor(ms / 3_600_000);
    let h = this.hours.get(index);
    if (h === undefined) {
      const key = hourOf(ms);
      h = { key, k: `${key.date}/${key.hour}` };
      if (this.hours.size > 10_000) this.hours.clear();
      this.hours.set(index, h);
    }
    return h;
  }

  /** Opens a file in the owner's staging folder; undefined when the folder was fenced (the partition is then fenced). */
  private async openFile(partition: number, state: PartitionState, key: HourKey, first: number): Promise<OpenFile | undefined> {
    const dirPath = hourDir(this.opts.dir, this.opts.topic, key);
    await mkdir(dirPath, { recursive: true });
    const temp = join(state.staging, `${this.opts.topic}+${partition}+${padOffset(first)}.tmp`);
    let handle: FileHandle;
    try {
      // Never created again here (no mkdir): a fenced folder stays fenced.
      handle = await open(temp, 'w');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && (await this.gone(state))) {
        await this.fence(partition, state, 'open');
        return undefined;
      }
      throw err;
    }
    const encoder = this.encoder();
    const header = encoder.header();
    await handle.write(header);
    return { key, dirPath, temp, handle, encoder, first, last: first, records: 0, pending: Buffer.allocUnsafe(this.blockBytes + 4096), pendingBytes: 0, pendingCount: 0, bytes: header.length, openedAt: this.now(), writing: Promise.resolve(), failure: undefined };
  }

  /**
   * Starts compressing the pending records as one block and queues its write
   * after the file's earlier blocks (not awaited: flush waits for the queue).
   */
  private writeBlock(file: OpenFile): void {
    if (file.failure !== undefined) throw file.failure;
    if (file.pendingCount === 0) return;
    const records = file.pending.subarray(0, file.pendingBytes);
    const count = file.pendingCount;
    const raw = file.pendingBytes;
    file.pending = Buffer.allocUnsafe(this.blockBytes + 4096);
    file.pendingBytes = 0;
    file.pendingCount = 0;
    file.bytes += raw;
    this.inFlight += 1;
    // Compression of several blocks (of this file or others) overlaps; the writes keep block order.
    // file.pending was allocated for this block alone (never pooled) and is replaced above: handed over, not copied.
    const encoded = file.encoder.rawBlockAsync(records, count, { transfer: true });
    encoded.catch(() => undefined); // handled by the write below, in order
    file.writing = file.writing.then(async () => {
      try {
        if (file.failure !== undefined) return;
        const block = await encoded;
        await file.handle.write(block);
        file.bytes += block.length - raw;
      } catch (err) {
        file.failure = err;
      } finally {
        this.blockDone();
      }
    });
  }

  /** Partitions with an open file that is full (maxBytes) or old (maxAgeMs). */
  due(): number[] {
    const now = this.now();
    const out: number[] = [];
    for (const [partition, state] of this.partitions) {
      for (const f of state.open.values()) {
        if (f.bytes + f.pendingBytes >= this.maxBytes || now - f.openedAt >= this.maxAgeMs) {
          out.push(partition);
          break;
        }
      }
    }
    return out;
  }

  /** Partitions loaded (with or without open files). */
  known(): number[] {
    return [...this.partitions.keys()];
  }

  /**
   * Closes every open file of the partition (write, fsync, rename, fsync
   * the folder) and returns the offset to commit: the partition's last seen
   * offset + 1 (undefined when nothing was seen).
   */
  async flush(partition: number): Promise<number | undefined> {
    const state = this.partitions.get(partition);
    if (state === undefined || state.fenced || state.lastSeen < 0) return undefined;
    // The files are independent (one per hour): they are closed at once, so their compression,
    // fsyncs and renames overlap instead of queueing file after file.
    const closed = await Promise.allSettled([...state.open].map(([k, file]) => this.close(partition, state, k, file)));
    for (const r of closed) if (r.status === 'rejected') throw r.reason;
    if (closed.some((r) => r.status === 'fulfilled' && r.value === 'fenced')) {
      // Files renamed before the fence are complete and the new owner saw them; the others are dropped.
      await this.fence(partition, state, 'rename');
      return undefined;
    }
    return state.lastSeen + 1;
  }

  /** Whether the owner's staging folder is gone (fenced: moved away by a newer owner). */
  private async gone(state: PartitionState): Promise<boolean> {
    try {
      await access(state.staging);
      return false;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw err;
    }
  }

  /** Marks a partition fenced: its open files are dropped (closed; their folder is gone), once. */
  private async fence(partition: number, state: PartitionState, when: 'open' | 'rename'): Promise<void> {
    if (state.fenced) return;
    state.fenced = true;
    // The files went with their folder (the new owner removes it): only the handles are left.
    const { files, records } = await this.closeOpen(state);
    this.opts.onFenced?.({ partition, epoch: state.epoch, files, records, when });
  }

  /** Closes a partition's open files once their writes are done and forgets them (unrenamed); their count and records. */
  private async closeOpen(state: PartitionState): Promise<{ files: number; records: number }> {
    let records = 0;
    const files = state.open.size;
    for (const f of state.open.values()) {
      records += f.records;
      await f.writing;
      await f.handle.close().catch(() => undefined);
    }
    state.open.clear();
    return { files, records };
  }

  /**
   * Writes a file's last block, fsyncs it, renames it to its final name and fsyncs its folder;
   * 'fenced' when the rename fails because another owner fenced the staging folder.
   */
  private async close(partition: number, state: PartitionState, k: string, file: OpenFile): Promise<'renamed' | 'fenced'> {
    this.writeBlock(file);
    await file.writing;
    if (file.failure !== undefined) throw file.failure;
    await file.handle.sync();
    await file.handle.close();
    const final = join(file.dirPath, archiveFileName(this.opts.topic, partition, file.first, file.last));
    try {
      await rename(file.temp, final);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && (await this.gone(state))) return 'fenced';
      throw err;
    }
    const dirHandle = await open(file.dirPath, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
    state.open.delete(k);
    const list = state.covered.get(k) ?? [];
    list.push([file.first, file.last]);
    state.covered.set(k, list);
    this.opts.onFile?.({ path: final, partition, first: file.first, last: file.last, records: file.records, bytes: file.bytes });
    return 'renamed';
  }

  /** Blocks compressing or being written now (at most maxBlocksInFlight, plus each file's last block while it closes). */
  blocksInFlight(): number {
    return this.inFlight;
  }

  /** Number of open (temporary) files. */
  openFiles(): number {
    let n = 0;
    for (const s of this.partitions.values()) n += s.open.size;
    return n;
  }

  /**
   * Forgets a partition (it moved to another worker, or the group
   * rebalanced): its open files and staging folder are removed (a fenced
   * mark too), its state reloaded from disk on its next prepare().
   */
  async drop(partition: number): Promise<void> {
    const state = this.partitions.get(partition);
    if (state === undefined) return;
    this.partitions.delete(partition);
    await this.closeOpen(state);
    await rm(state.staging, { recursive: true, force: true });
  }
}

/** The epoch in a staging folder's name (`<epoch, 10 digits>-<owner>`); -1 for any other name. */
function epochOf(name: string): number {
  const m = /^([0-9]{10})-/.exec(name);
  return m === null ? -1 : Number(m[1]);
}
