/**
 * The one example-source syntax of every training command (train-ner,
 * train-joint, pretrain-embeddings, eval): a string naming where the
 * examples are, parsed here (pure, no I/O) into a SourceSpec.
 *
 *   [FORMAT:]PATH[?from=A&to=B]          a file, a directory or a glob
 *   kafka:TOPIC[?from=A&to=B&partitions=0,1&brokers=H:P,H:P]
 *
 * FORMAT is conll (char-per-line CoNLL NER), seg (segmented sentences, words
 * separated by spaces), text (raw lines, whitespace dropped) or avro (Avro
 * object containers of LabeledExample or Post records). Without a FORMAT, a
 * path ending in .avro, a directory or a glob is avro and any other file
 * takes the command's default (conll for NER data, seg for segmentation
 * data, text for pre-training). A directory is read recursively (every
 * *.avro file, never *.tmp); a glob has `*` (within a path segment), `**`
 * (any depth) and `?`.
 *
 * from/to, always [from, to): for files, the event hours of the archive
 * layout DIR/<topic>/date=YYYY-MM-DD/hour=HH/... given as YYYY-MM-DD or
 * YYYY-MM-DDTHH (a file outside date=/hour= folders is left out when a range
 * is given); for a topic, an offset (digits, the same in every partition),
 * a time (ISO 8601, e.g. 2026-12-01T08:00Z, by record timestamp), earliest
 * or latest (defaults: earliest to latest).
 */
import { ConfigError } from '../../../common/errors.js';

export type SourceFormat = 'conll' | 'seg' | 'text' | 'avro';
export const SOURCE_FORMATS: readonly SourceFormat[] = ['conll', 'seg', 'text', 'avro'];

/** An hour of the archive layout, "YYYY-MM-DDTHH" (sorts as time). */
export type HourKey = string;

export type TopicBound = 'earliest' | 'latest' | { offset: string } | { timestamp: number };

export type SourceSpec =
  | {
      kind: 'path';
      /** The spec as written (for messages and fingerprints). */
      text: string;
      /** Explicit format, or undefined: decided by the path (see inferFormat). */
      format?: SourceFormat;
      path: string;
      /** Archive hours [from, to); only for avro sources. */
      from?: HourKey;
      to?: HourKey;
    }
  | {
      kind: 'kafka';
      text: string;
      topic: string;
      from: TopicBound;
      to: TopicBound;
      partitions?: number[];
      /** Brokers given in the spec; default the command's (MENTIONFLOW_BROKERS). */
      brokers?: string[];
    };

/** The one-paragraph syntax summary printed in every training command's --help. */
export const SOURCE_SYNTAX_HELP = [
  'Example sources (every data option takes one; see README "Training sources"):',
  '  FILE                        CoNLL / segmented / text by the option; FILE.avro: an Avro container',
  '  conll:FILE  seg:FILE  text:FILE  avro:FILE   the format said explicitly',
  '  DIR or GLOB (e.g. "arch/posts/**/*.avro")   Avro containers under it (recursive; *.tmp skipped)',
  '  DIR?from=2026-12-01&to=2026-12-02T06        archive hours [from, to) of DIR/<topic>/date=D/hour=H/',
  '  kafka:TOPIC?from=OFFSET|TIME&to=OFFSET|TIME  a topic range [from, to) (default earliest..latest;',
  '                              TIME is ISO 8601, e.g. 2026-12-01T08:00Z; &partitions=0,1; &brokers=H:P,',
  '                              else MENTIONFLOW_BROKERS)',
  'Avro sources hold LabeledExample records (NER spans, segmentation) or Post records (text only, for pre-training).',
  'A topic holds LabeledExample records, except for pretrain-embeddings --text, where it is a posts topic (Post records).',
].join('\n');

const HOUR = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}))?$/;

/** "YYYY-MM-DD" -> "YYYY-MM-DDT00", "YYYY-MM-DDTHH" kept; ConfigError otherwise. */
export function parseHourKey(value: string, where: string): HourKey {
  const m = HOUR.exec(value);
  const bad = (): never => {
    throw new ConfigError(`${where}: "${value}" is not a date YYYY-MM-DD or an hour YYYY-MM-DDTHH (UTC)`);
  };
  if (m === null) return bad();
  const [, y, mo, d, h = '00'] = m;
  const t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h));
  const date = new Date(t);
  if (date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d) || Number(h) > 23) return bad();
  return `${y}-${mo}-${d}T${h}`;
}

/** A topic bound: digits = offset, "earliest"/"latest", else an ISO time. */
export function parseTopicBound(value: string, where: string): TopicBound {
  if (value === 'earliest' || value === 'latest') return value;
  if (/^\d+$/.test(value)) return { offset: value };
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const t = Date.parse(value);
    if (Number.isFinite(t)) return { timestamp: t };
  }
  throw new ConfigError(`${where}: "${value}" is not an offset (digits), a time (ISO 8601, e.g. 2026-12-01T08:00Z), earliest or latest`);
}

function parseQuery(query: string, where: string, allowed: readonly string[]): Map<string, string> {
  const params = new Map<string, string>();
  if (query === '') return params;
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
    if (!allowed.includes(key)) throw new ConfigError(`${where}: unknown parameter "${key}" (allowed: ${allowed.join(', ')})`);
    if (params.has(key)) throw new ConfigError(`${where}: parameter "${key}" given twice`);
    if (value === '') throw new ConfigError(`${where}: parameter "${key}" has no value`);
    params.set(key, value);
  }
  return params;
}

/**
 * Parses one source spec. `where` names it in errors (e.g. "--train").
 * Throws ConfigError (exit 2) with one line saying what is wrong.
 */
export function parseSourceSpec(text: string, where: string): SourceSpec {
  if (text.trim() === '') throw new ConfigError(`${where}: empty source`);
  const label = `${where} ${text}`;
  if (text.startsWith('kafka:')) {
    const rest = text.slice('kafka:'.length);
    const q = rest.indexOf('?');
    const topic = q < 0 ? rest : rest.slice(0, q);
    if (!/^[A-Za-z0-9._-]+$/.test(topic)) throw new ConfigError(`${label}: "${topic}" is not a topic name (letters, digits, . _ -)`);
    const params = parseQuery(q < 0 ? '' : rest.slice(q + 1), label, ['from', 'to', 'partitions', 'brokers']);
    const from = parseTopicBound(params.get('from') ?? 'earliest', `${label} from`);
    const to = parseTopicBound(params.get('to') ?? 'latest', `${label} to`);
    if (typeof from === 'object' && typeof to === 'object') {
      if ('offset' in from && 'offset' in to && BigInt(from.offset) > BigInt(to.offset)) throw new ConfigError(`${label}: from offset is after to offset`);
      if ('timestamp' in from && 'timestamp' in to && from.timestamp > to.timestamp) throw new ConfigError(`${label}: from time is after to time`);
    }
    const spec: SourceSpec = { kind: 'kafka', text, topic, from, to };
    const partitions = params.get('partitions');
    if (partitions !== undefined) {
      spec.partitions = partitions.split(',').map((p) => {
        if (!/^\d+$/.test(p)) throw new ConfigError(`${label}: partitions must be a comma-separated list of partition numbers, got "${partitions}"`);
        return Number(p);
      });
    }
    const brokers = params.get('brokers');
    if (brokers !== undefined) spec.brokers = brokers.split(',').filter((b) => b.length > 0);
    return spec;
  }
  let format: SourceFormat | undefined;
  let rest = text;
  const colon = /^([a-z]+):(?!\/\/)/.exec(text);
  if (colon !== null && colon[1].length > 1) {
    if (!SOURCE_FORMATS.includes(colon[1] as SourceFormat)) {
      throw new ConfigError(`${label}: unknown source format "${colon[1]}" (one of ${SOURCE_FORMATS.join(', ')}, or kafka:TOPIC)`);
    }
    format = colon[1] as SourceFormat;
    rest = text.slice(colon[0].length);
  }
  // The query is a trailing "?key=..." without a slash; any other '?' is a glob character.
  const query = /\?([A-Za-z]+=[^/]*)$/.exec(rest);
  const q = query === null ? -1 : query.index;
  const path = q < 0 ? rest : rest.slice(0, q);
  if (path === '') throw new ConfigError(`${label}: no path`);
  const spec: SourceSpec = { kind: 'path', text, path };
  if (format !== undefined) spec.format = format;
  if (q >= 0) {
    const params = parseQuery(rest.slice(q + 1), label, ['from', 'to']);
    if (format !== undefined && format !== 'avro') throw new ConfigError(`${label}: from/to select archive hours and apply to avro sources only`);
    const from = params.get('from');
    const to = params.get('to');
    if (from !== undefined) spec.from = parseHourKey(from, `${label} from`);
    if (to !== undefined) spec.to = parseHourKey(to, `${label} to`);
    if (spec.from !== undefined && spec.to !== undefined && spec.from >= spec.to) {
      throw new ConfigError(`${label}: the hour range [${spec.from}, ${spec.to}) is empty (to is exclusive)`);
    }
  }
  return spec;
}

/** Whether a path has glob characters. */
export function isGlob(path: string): boolean {
  return /[*?]/.test(path);
}

/** A RegExp matching whole paths for a glob: `**` any depth (also none), `*` within a segment, `?` one char. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else re += '.*';
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The hour key of a file in the archive layout (.../date=YYYY-MM-DD/hour=HH/...), or undefined. */
export function archiveHourOf(path: string): HourKey | undefined {
  const m = /(?:^|\/)date=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\//.exec(path);
  return m === null ? undefined : `${m[1]}T${m[2]}`;
}

/** Whether an archive file's hour is in [from, to) (no range: every file). */
export function inHourRange(path: string, from?: HourKey, to?: HourKey): boolean {
  if (from === undefined && to === undefined) return true;
  const hour = archiveHourOf(path);
  if (hour === undefined) return false;
  return (from === undefined || hour >= from) && (to === undefined || hour < to);
}
