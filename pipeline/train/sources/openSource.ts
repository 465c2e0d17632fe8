/**
 * openSource: a parsed source spec (sourceSpec.ts) as a stream of
 * TrainingExamples, and the readers the training commands use on top of it:
 *
 *   readNerSource(spec)   NER sentences (chars + tags): examples with nerTags
 *   readSegSource(spec)   segmented sentences (chars + BIES tags + words)
 *   readTextSource(spec)  unlabelled sentences (chars): any example
 *
 * each with the DataFingerprint recorded in the model manifest (a single
 * file: its bytes' SHA-256, as before; several files or a topic range: the
 * SHA-256 of the examples read, named by the spec).
 *
 * Files of a directory, glob or archive range are read one after another in
 * path order (in the archive layout: topic, date, hour, partition, offsets).
 * A spec naming nothing (no such file, no file matching, an empty hour
 * range) is a ConfigError; so is an example without the annotation a role
 * needs (e.g. Post records given as NER data), naming where it was read.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { concat, defer, from, mergeMap, type Observable } from 'rxjs';
import { ConfigError } from '../../../common/errors.js';
import type { DataFingerprint } from '../../../models/artifact/manifest.js';
import type { NerSentence } from '../../../models/data/conll.js';
import type { SegSentence } from '../../../models/data/segmentation.js';
import { biesToWordSpans } from '../../../models/text/segTags.js';
import { fingerprint } from '../fingerprint.js';
import { avroExamples } from './avroExamples.js';
import { conllExamples } from './conllExamples.js';
import type { SourceOptions, TrainingExample } from './example.js';
import { kafkaExamples } from './kafkaExamples.js';
import { segmentedExamples } from './segmentedExamples.js';
import { globToRegExp, inHourRange, isGlob, parseSourceSpec, type SourceFormat, type SourceSpec, type TopicBound } from './sourceSpec.js';
import { textExamples } from './textExamples.js';
import type { KafkaConnectionOptions } from '../../kafka/client.js';

/** The Kafka connection of kafka: sources (brokers may be left out when every spec names its own). */
export type SourceKafkaOptions = Partial<KafkaConnectionOptions>;

/** What the examples are for: decides the default format of a plain file and the annotation required. */
export type SourceRole = 'ner' | 'seg' | 'text';

const DEFAULT_FORMAT: Record<SourceRole, SourceFormat> = { ner: 'conll', seg: 'seg', text: 'text' };

export interface OpenSourceOptions extends SourceOptions {
  role: SourceRole;
  /** Names the option in errors, e.g. "--train". */
  where: string;
  /** Kafka connection for kafka: specs without brokers=... (brokers may be empty: then the spec must name them). */
  kafka?: SourceKafkaOptions;
}

/** One file of a path spec, with the format it is read in. */
export interface SourceFile {
  path: string;
  format: SourceFormat;
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile()) out.push(p);
  }
}

/** The longest leading part of a glob without glob characters, as a directory. */
function globRoot(glob: string): string {
  const parts = glob.split('/');
  const fixed: string[] = [];
  for (const part of parts) {
    if (isGlob(part)) break;
    fixed.push(part);
  }
  if (fixed.length === parts.length) fixed.pop();
  const root = fixed.join('/');
  return root === '' ? (glob.startsWith('/') ? '/' : '.') : root;
}

/** The files a path spec names, in path order; ConfigError when it names none. */
export async function sourceFiles(spec: Extract<SourceSpec, { kind: 'path' }>, role: SourceRole, where: string): Promise<SourceFile[]> {
  const label = `${where} ${spec.text}`;
  const glob = isGlob(spec.path);
  const dir = !glob && existsSync(spec.path) && statSync(spec.path).isDirectory();
  if (!glob && !dir) {
    if (!existsSync(spec.path)) throw new ConfigError(`${where} ${spec.path}: no such file`);
    if (!statSync(spec.path).isFile()) throw new ConfigError(`${where} ${spec.path}: is not a regular file`);
    const format = spec.format ?? (spec.path.endsWith('.avro') ? 'avro' : DEFAULT_FORMAT[role]);
    if (format !== 'avro' && (spec.from !== undefined || spec.to !== undefined)) throw new ConfigError(`${label}: from/to select archive hours and apply to avro sources only`);
    return [{ path: spec.path, format }];
  }
  const format = spec.format ?? 'avro';
  let paths: string[] = [];
  if (dir) {
    await walk(spec.path, paths);
    if (format === 'avro') paths = paths.filter((p) => p.endsWith('.avro'));
  } else {
    const root = globRoot(spec.path);
    if (!existsSync(root) || !statSync(root).isDirectory()) throw new ConfigError(`${label}: no such directory ${root}`);
    const re = globToRegExp(spec.path.replace(/^\.\//, ''));
    await walk(root, paths);
    paths = paths.filter((p) => re.test(p.replace(/^\.\//, '')));
  }
  paths = paths.filter((p) => !p.endsWith('.tmp') && inHourRange(p, spec.from, spec.to)).sort();
  if (paths.length === 0) {
    const range = spec.from !== undefined || spec.to !== undefined ? ` in hours [${spec.from ?? '-inf'}, ${spec.to ?? '+inf'})` : '';
    const what = dir ? ' under the directory (a directory is read as an archive of Avro containers)' : ' matching';
    throw new ConfigError(`${label}: no ${format === 'avro' ? '*.avro ' : ''}files${range}${what}`);
  }
  return paths.map((path) => ({ path, format }));
}

function fileExamples(file: SourceFile, options: SourceOptions): Observable<TrainingExample> {
  switch (file.format) {
    case 'conll':
      return conllExamples(file.path, options);
    case 'seg':
      return segmentedExamples(file.path, options);
    case 'text':
      return textExamples(file.path, options);
    case 'avro':
      return avroExamples(file.path, options);
  }
}

function replayBound(bound: TopicBound): 'earliest' | 'latest' | { offset: string } | { timestamp: number } {
  return bound;
}

/**
 * The examples of a source spec (a string, parsed here, or a parsed spec).
 * Files are listed when the stream is subscribed; a kafka spec replays the
 * range with a throw-away consumer group.
 */
export function openSource(spec: string | SourceSpec, options: OpenSourceOptions): Observable<TrainingExample> {
  const parsed = typeof spec === 'string' ? parseSourceSpec(spec, options.where) : spec;
  const { onInvalid } = options;
  const sourceOptions: SourceOptions = onInvalid === undefined ? {} : { onInvalid };
  if (parsed.kind === 'kafka') {
    const brokers = parsed.brokers ?? [...(options.kafka?.brokers ?? [])];
    if (brokers.length === 0) throw new ConfigError(`${options.where} ${parsed.text}: no Kafka brokers; add &brokers=HOST:PORT to the source or set MENTIONFLOW_BROKERS`);
    return kafkaExamples({
      ...options.kafka,
      ...sourceOptions,
      brokers,
      topic: parsed.topic,
      from: replayBound(parsed.from),
      to: replayBound(parsed.to),
      ...(parsed.partitions === undefined ? {} : { partitions: parsed.partitions }),
      records: options.role === 'text' ? 'post' : 'example',
      ner: options.role === 'ner',
    });
  }
  return defer(() => from(sourceFiles(parsed, options.role, options.where))).pipe(
    mergeMap((files) => concat(...files.map((f) => fileExamples(f, sourceOptions)))),
  );
}

/**
 * Checks a spec before any work starts (construction-time validation): it
 * parses, and a path spec names at least one file. ConfigError otherwise.
 */
export async function checkSource(spec: string, role: SourceRole, where: string): Promise<void> {
  const parsed = parseSourceSpec(spec, where);
  if (parsed.kind === 'path') await sourceFiles(parsed, role, where);
}

/** Collects a source, checking each example has what `role` needs; a ConfigError names the first that does not. */
async function collectExamples(spec: SourceSpec, options: OpenSourceOptions): Promise<TrainingExample[]> {
  const examples: TrainingExample[] = [];
  await new Promise<void>((resolve, reject) => {
    openSource(spec, options).subscribe({
      next: (e) => {
        if (options.role === 'ner' && e.nerTags === undefined) {
          reject(new ConfigError(`${options.where} ${spec.text}: ${e.origin} has no NER annotation (Post records or a segmentation-only archive are not NER training data)`));
        } else if (options.role === 'seg' && e.segTags === undefined) {
          reject(new ConfigError(`${options.where} ${spec.text}: ${e.origin} has no word segmentation`));
        } else examples.push(e);
      },
      error: reject,
      complete: resolve,
    });
  });
  return examples;
}

async function sourceFingerprint(role: string, spec: SourceSpec, options: OpenSourceOptions, examples: readonly TrainingExample[]): Promise<DataFingerprint> {
  if (spec.kind === 'path' && !isGlob(spec.path) && statSync(spec.path).isFile()) return fingerprint(role, spec.path, examples.length);
  const hash = createHash('sha256');
  for (const e of examples) hash.update(JSON.stringify([e.chars.join(''), e.nerTags ?? null, e.segTags ?? null])).update('\n');
  return { role, file: spec.text, sha256: hash.digest('hex'), sentences: examples.length };
}

export interface SourceData<T> {
  sentences: T[];
  fingerprint: DataFingerprint;
}

export type ReadSourceOptions = Omit<OpenSourceOptions, 'role'> & {
  /** Role recorded in the fingerprint, e.g. "ner-train". */
  fingerprintRole: string;
};

/** NER sentences of a source; sentences without chars are kept (as readConll keeps them). */
export async function readNerSource(spec: string, options: ReadSourceOptions): Promise<SourceData<NerSentence>> {
  const parsed = parseSourceSpec(spec, options.where);
  const opts = { ...options, role: 'ner' as const };
  const examples = await collectExamples(parsed, opts);
  return { sentences: examples.map((e) => ({ chars: e.chars, tags: e.nerTags! })), fingerprint: await sourceFingerprint(options.fingerprintRole, parsed, opts, examples) };
}

/** Segmented sentences of a source (words rebuilt from the BIES tags). */
export async function readSegSource(spec: string, options: ReadSourceOptions): Promise<SourceData<SegSentence>> {
  const parsed = parseSourceSpec(spec, options.where);
  const opts = { ...options, role: 'seg' as const };
  const examples = await collectExamples(parsed, opts);
  const sentences = examples.map((e) => ({ chars: e.chars, tags: e.segTags!, words: biesToWordSpans(e.segTags!).map((w) => e.chars.slice(w.start, w.end).join('')) }));
  return { sentences, fingerprint: await sourceFingerprint(options.fingerprintRole, parsed, opts, examples) };
}

/** Unlabelled sentences (chars) of a source, whitespace dropped (as pretrain/corpus.ts's rawLines); empty ones dropped. */
export async function readTextSource(spec: string, options: ReadSourceOptions): Promise<SourceData<string[]>> {
  const parsed = parseSourceSpec(spec, options.where);
  const opts = { ...options, role: 'text' as const };
  const examples = (await collectExamples(parsed, opts))
    .map((e) => ({ ...e, chars: e.chars.filter((c) => !/^\s$/u.test(c)) }))
    .filter((e) => e.chars.length > 0);
  return { sentences: examples.map((e) => e.chars), fingerprint: await sourceFingerprint(options.fingerprintRole, parsed, opts, examples) };
}
