/**
 * The example-source options of the training commands (train-ner,
 * train-joint, pretrain-embeddings, eval): one syntax for all
 * (pipeline/train/sources/sourceSpec.ts), checked before any work starts.
 */
import { ConfigError } from '../common/errors.js';
import type { NerSentence } from '../models/data/conll.js';
import { checkSource, readNerSource, type SourceRole } from '../pipeline/train/sources/openSource.js';
import { parseSourceSpec } from '../pipeline/train/sources/sourceSpec.js';
import { requireString, type Parsed } from './args.js';

/** A source option's value checked: parsed, files found, brokers known for a topic; a ConfigError (exit 2) naming the flag otherwise. */
export async function checkSourceOption(spec: string, where: string, role: SourceRole): Promise<void> {
  await checkSource(spec, role, where);
  const parsed = parseSourceSpec(spec, where);
  if (parsed.kind === 'kafka' && parsed.brokers === undefined && sourceKafka().brokers.length === 0) {
    throw new ConfigError(`${where} ${spec}: no Kafka brokers; add &brokers=HOST:PORT to the source or set MENTIONFLOW_BROKERS`);
  }
}

/** A required source option, checked by checkSourceOption. */
export async function requireSource(p: Parsed, name: string, command: string, role: SourceRole): Promise<string> {
  const spec = requireString(p, name, command);
  await checkSourceOption(spec, `--${name}`, role);
  return spec;
}

/** Kafka connection of kafka: sources without &brokers=: MENTIONFLOW_BROKERS (comma-separated). */
export function sourceKafka(): { brokers: string[] } {
  return { brokers: (process.env.MENTIONFLOW_BROKERS ?? '').split(',').map((b) => b.trim()).filter((b) => b.length > 0) };
}

/**
 * The labelled sentences of a --data source (any example source), empty ones
 * dropped: what eval, compare and promote score on, read the same way.
 */
export async function readLabelled(data: string): Promise<NerSentence[]> {
  return (await readNerSource(data, { where: '--data', fingerprintRole: 'eval', kafka: sourceKafka() })).sentences.filter((s) => s.chars.length > 0);
}
