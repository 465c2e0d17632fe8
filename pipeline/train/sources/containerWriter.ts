/**
 * writeExampleContainer: writes a stream of LabeledExample records to an Avro
 * object container file that avroExamples (and any Avro tool) reads back.
 *
 * Every record is checked first: against the schema (schemas/registry's
 * validate, so no value avsc would silently corrupt gets in) and for
 * well-formed spans and segmentation (example.ts), so an archive never holds
 * a record its readers reject; a bad record rejects with a MentionflowError
 * naming its id. The file is written under a temporary name next to `path`
 * and renamed when complete; on any error the temporary file is removed and
 * `path` is left untouched. Records are encoded as they arrive (blocks of
 * about 64 KiB), so the input is never held in memory as a whole.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import avro from 'avsc';
import type { Observable, Subscription } from 'rxjs';
import { ConfigError, MentionflowError } from '../../../common/errors.js';
import { SchemaValidationError, loadSchema, validate } from '../../../schemas/registry.js';
import type { LabeledExample } from '../../../schemas/types.generated.js';
import { NER_METADATA_KEY } from './avroExamples.js';
import { fromLabeledExample } from './example.js';

export interface ContainerWriteOptions {
  /** Block compression: 'deflate' (default) or 'null'. */
  codec?: 'null' | 'deflate';
  /**
   * Whether the records' spans are a gold NER annotation, stored as the
   * "mentionflow.ner" metadata that avroExamples reads. Pass false for
   * segmentation-only corpora (their spans are empty, not "no entities").
   * Default true.
   */
  ner?: boolean;
  /** More metadata entries; keys must not start with "avro." nor be "mentionflow.ner". */
  metadata?: Record<string, string>;
}

export interface ContainerWriteResult {
  path: string;
  /** Records written. */
  count: number;
}

function checkOptions(options: ContainerWriteOptions): Record<string, Buffer> {
  const { codec = 'deflate', ner = true, metadata = {} } = options;
  if (codec !== 'null' && codec !== 'deflate') throw new ConfigError(`codec must be "null" or "deflate", got ${JSON.stringify(codec)}`);
  const meta: Record<string, Buffer> = { [NER_METADATA_KEY]: Buffer.from(String(ner)) };
  for (const [key, value] of Object.entries(metadata)) {
    if (key.startsWith('avro.') || key === NER_METADATA_KEY) {
      throw new ConfigError(`metadata key ${JSON.stringify(key)} is reserved (avro.* and ${NER_METADATA_KEY})`);
    }
    meta[key] = Buffer.from(value, 'utf8');
  }
  return meta;
}

/** Checks one record (schema and spans/segmentation); throws MentionflowError naming it. */
function checkRecord(record: LabeledExample, index: number): void {
  const type = loadSchema('example');
  const what = `record ${index}${typeof record?.id === 'string' ? ` (id ${JSON.stringify(record.id)})` : ''}`;
  const issues = validate(type, record);
  if (issues.length > 0) throw new MentionflowError(`cannot archive ${what}: ${new SchemaValidationError('LabeledExample', issues).message}`);
  try {
    fromLabeledExample(record, { ner: true, origin: what });
  } catch (err) {
    throw new MentionflowError(`cannot archive ${what}: ${(err as Error).message}`, { cause: err });
  }
}

/** Writes every record of `records` to the container file `path`; resolves when the file is complete. */
export async function writeExampleContainer(
  path: string,
  records: Observable<LabeledExample>,
  options: ContainerWriteOptions = {},
): Promise<ContainerWriteResult> {
  const metadata = checkOptions(options);
  const type = loadSchema('example');
  const temp = `${path}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  const encoder = new avro.streams.BlockEncoder(type, { codec: options.codec ?? 'deflate', writeHeader: 'always', metadata } as never);
  const written = pipeline(encoder, createWriteStream(temp));
  let count = 0;
  let subscription: Subscription | undefined;
  try {
    const drained = new Promise<void>((resolve, reject) => {
      let failed = false;
      subscription = records.subscribe({
        next: (record) => {
          if (failed) return; // a synchronous source keeps calling next until subscribe returns
          try {
            checkRecord(record, count + 1);
            encoder.write(record);
            count += 1;
          } catch (err) {
            failed = true;
            reject(err);
            subscription?.unsubscribe();
          }
        },
        error: reject,
        complete: resolve,
      });
    });
    // A failing write stream (e.g. a missing directory) rejects `written` before the input ends.
    await Promise.race([drained, written.then(() => undefined)]);
    encoder.end();
    await written;
    await rename(temp, path);
    return { path, count };
  } catch (err) {
    subscription?.unsubscribe();
    encoder.destroy();
    await written.catch(() => undefined);
    await rm(temp, { force: true });
    if (err instanceof MentionflowError) throw err;
    throw new MentionflowError(`cannot write ${path}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}
