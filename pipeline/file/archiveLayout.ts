/**
 * The archive layout of the post stream (shared by the archive sink and the
 * training sources that read it):
 *
 *   DIR/<topic>/date=YYYY-MM-DD/hour=HH/<topic>+<partition>+<firstOffset>-<lastOffset>.avro
 *
 * offsets zero-padded to 19 digits, date and hour of the post's created_at
 * (event time, UTC). A file of hour H covering [first, last] holds every
 * record of hour H at offsets first..last of its partition, in offset
 * order; files under their final name are complete. Writers write a file
 * under a name ending in ".tmp" in a staging folder of their own, one per
 * owner of a partition,
 *
 *   DIR/<topic>/.staging/<partition>/<owner>/
 *
 * until they have fsynced it and renamed it to its final name (same
 * filesystem: rename(2) moves it atomically). Readers look only in the
 * date= folders (and skip "*.tmp" names).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

const OFFSET_DIGITS = 19;

/** An hour bucket of event time: "YYYY-MM-DD" and "HH" (UTC). */
export interface HourKey {
  date: string;
  hour: string;
}

/** The UTC date/hour of epoch milliseconds. */
export function hourOf(ms: number): HourKey {
  const iso = new Date(ms).toISOString();
  return { date: iso.slice(0, 10), hour: iso.slice(11, 13) };
}

/** The folder of one topic's hour, relative to the archive root. */
export function hourDir(root: string, topic: string, key: HourKey): string {
  return join(root, topic, `date=${key.date}`, `hour=${key.hour}`);
}

/** The staging folders of one partition's owners (each writes its temporary files in `<this>/<owner>`). */
export function stagingDir(root: string, topic: string, partition: number): string {
  return join(root, topic, '.staging', String(partition));
}

/** Where fenced staging folders are moved (atomically) before they are removed. */
export function fencedDir(root: string, topic: string): string {
  return join(root, topic, '.staging', 'fenced');
}

export function padOffset(offset: number): string {
  return String(offset).padStart(OFFSET_DIGITS, '0');
}

/** `<topic>+<partition>+<first>-<last>.avro`. */
export function archiveFileName(topic: string, partition: number, first: number, last: number): string {
  return `${topic}+${partition}+${padOffset(first)}-${padOffset(last)}.avro`;
}

/** One archived file, as its name and folders say. */
export interface ArchiveFile extends HourKey {
  path: string;
  topic: string;
  partition: number;
  first: number;
  last: number;
}

const NAME = /^(.+)\+([0-9]+)\+([0-9]{19})-([0-9]{19})\.avro$/;

/** Parses a final file name (undefined for anything else, temporary files included). */
export function parseArchiveFileName(name: string): { topic: string; partition: number; first: number; last: number } | undefined {
  const m = NAME.exec(name);
  if (m === null) return undefined;
  return { topic: m[1], partition: Number(m[2]), first: Number(m[3]), last: Number(m[4]) };
}

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Every complete archive file of `topic` under `root` (optionally one
 * partition), sorted by date, hour, partition and first offset. Also
 * returns the temporary files seen in the date= folders (name ending in
 * ".tmp": none since writers stage them, but an older version's may be
 * left there) and those in staging folders (`staged`).
 */
export async function listArchive(root: string, topic: string, partition?: number): Promise<{ files: ArchiveFile[]; temporary: string[]; staged: string[] }> {
  const files: ArchiveFile[] = [];
  const temporary: string[] = [];
  const staged: string[] = [];
  const topicDir = join(root, topic);
  const staging = join(topicDir, '.staging');
  for (const p of await entries(staging)) {
    if (!/^[0-9]+$/.test(p) || (partition !== undefined && Number(p) !== partition)) continue;
    for (const owner of await entries(join(staging, p))) for (const name of await entries(join(staging, p, owner))) staged.push(join(staging, p, owner, name));
  }
  for (const d of (await entries(topicDir)).filter((e) => e.startsWith('date=')).sort()) {
    for (const h of (await entries(join(topicDir, d))).filter((e) => e.startsWith('hour=')).sort()) {
      const dir = join(topicDir, d, h);
      for (const name of await entries(dir)) {
        if (name.endsWith('.tmp')) {
          if (partition === undefined || name.startsWith(`${topic}+${partition}+`)) temporary.push(join(dir, name));
          continue;
        }
        const parsed = parseArchiveFileName(name);
        if (parsed === undefined || parsed.topic !== topic || (partition !== undefined && parsed.partition !== partition)) continue;
        files.push({ ...parsed, path: join(dir, name), date: d.slice('date='.length), hour: h.slice('hour='.length) });
      }
    }
  }
  files.sort((a, b) => a.date.localeCompare(b.date) || a.hour.localeCompare(b.hour) || a.partition - b.partition || a.first - b.first);
  return { files, temporary, staged };
}
