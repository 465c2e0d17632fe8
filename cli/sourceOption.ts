/**
 * The example-source options of the training commands (train-ner,
 * train-joint, pretrain-embeddings, eval): one syntax for all
 * (pipeline/train/sources/sourceSpec.ts), checked before any work starts.
 */
import { checkSource, type SourceRole } from '../pipeline/train/sources/openSource.js';
import { requireString, type Parsed } from './args.js';

/** A required source option, parsed and (for files) found: a ConfigError (exit 2) naming the flag otherwise. */
export async function requireSource(p: Parsed, name: string, command: string, role: SourceRole): Promise<string> {
  const spec = requireString(p, name, command);
  await checkSource(spec, role, `--${name}`);
  return spec;
}

/** Kafka connection of kafka: sources without &brokers=: MENTIONFLOW_BROKERS (comma-separated). */
export function sourceKafka(): { brokers: string[] } {
  return { brokers: (process.env.MENTIONFLOW_BROKERS ?? '').split(',').map((b) => b.trim()).filter((b) => b.length > 0) };
}
