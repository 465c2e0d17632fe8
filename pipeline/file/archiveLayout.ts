/**
 * The archive layout of the post stream (shared by the archive sink and the
 * training sources that read it):
 *
 *   DIR/<topic>/date=YYYY-MM-DD/hour=HH/<topic>+<partition>+<firstOffset>-<lastOffset>.avro
 *
 * offsets zero-padded to 19 digits, date and hour of the post's created_at
 * (event time, UTC). A file of hour H covering [first, last] holds every
 * record of hour H at offsets first..last of its partition, in offset
 * order; files under their final name are complete (writers use a name
 * ending in ".tmp" until they have fsynced and renamed).
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
 * returns the temporary files seen (name ending in ".tmp").
 */
export async function listArchive(root: string, topic: string, partition?: number): Promise<{ files: ArchiveFile[]; temporary: string[] }> {
  const files: ArchiveFile[] = [];
  const temporary: string[] = [];
  const topicDir = join(root, topic);
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
  return { files, temporary };
}
