/**
 * avroExamples: an Avro object container file of LabeledExample records
 * (schemas/example; archived annotated posts, e.g. written by `mentionflow
 * archive`) or of Post records (schemas/post; the archived post stream of
 * `mentionflow archive --follow`) as a stream of TrainingExamples, read
 * block by block. A Post becomes an example with chars only (its `text`,
 * no tags): unlabelled text for pre-training.
 *
 * Records are decoded with the container's own schema and resolved into the
 * latest LabeledExample (or Post, when the writer schema is a Post) version;
 * a container whose schema cannot be read as either fails at its header. spans become BIO nerTags, segmentation
 * becomes BIES segTags (see example.ts). Whether spans are gold NER comes from
 * the `ner` option, else from the container's "mentionflow.ner" metadata
 * ("false" for archives of segmentation-only corpora), else true.
 *
 * Errors: a record with bad spans or segmentation is a CorpusFormatError
 * whose "line" is the 1-based record number (skippable with onInvalid); a
 * damaged file (bad header, sync marker, truncated block, record that does
 * not scan) is a DecodeError naming file, block and record, and ends the
 * stream. `origin` of an example is "file#record".
 */
import { defer, filter, map, type Observable } from 'rxjs';
import { CorpusFormatError, DecodeError } from '../../../common/errors.js';
import { decodeStrict, loadSchema, type Type } from '../../../schemas/registry.js';
import type { LabeledExample, Post } from '../../../schemas/types.generated.js';
import { containerRecords, type ContainerItem } from './containerReader.js';
import { fromLabeledExample, type SourceOptions, type TrainingExample } from './example.js';
import { parseOrSkip } from './fileLines.js';

/** Container metadata key saying whether the spans are a gold NER annotation ("true" / "false"). */
export const NER_METADATA_KEY = 'mentionflow.ner';

export interface AvroExamplesOptions extends SourceOptions {
  /** Whether spans are a gold NER annotation (nerTags set); default: the container's metadata, else true. */
  ner?: boolean;
}

/** Whether a container's writer schema is a Post record (any namespace, any version). */
function isPostSchema(writerType: Type): boolean {
  const name = writerType.name ?? '';
  return name === 'Post' || name.endsWith('.Post');
}

export function avroExamples(path: string, options: AvroExamplesOptions = {}): Observable<TrainingExample> {
  const exampleReader = loadSchema('example');
  const postReader = loadSchema('post');
  return defer(() => {
    // Per-subscription state: the container's writer schema, record kind and NER flag.
    let writer: Type | undefined;
    let reader = exampleReader;
    let posts = false;
    let ner = options.ner ?? true;

    const onHeader = (item: Extract<ContainerItem, { kind: 'header' }>): void => {
      const { writerType, meta } = item.header;
      posts = isPostSchema(writerType);
      reader = posts ? postReader : exampleReader;
      try {
        reader.createResolver(writerType);
      } catch (err) {
        throw new DecodeError(`${path}: the container's records (${writerType.name ?? writerType.typeName}) cannot be read as ${posts ? 'Post' : 'LabeledExample'}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      writer = writerType;
      const flag = meta[NER_METADATA_KEY]?.toString('utf8');
      if (options.ner === undefined && flag !== undefined) ner = flag !== 'false';
    };

    const toExample = (item: Extract<ContainerItem, { kind: 'record' }>): TrainingExample => {
      const origin = `${path}#${item.index}`;
      try {
        if (posts) {
          const post = decodeStrict<Post>(reader, item.bytes, { writerType: writer, label: `Post record ${item.index}` });
          return { id: post.id, chars: Array.from(post.text), source: post.source, createdAt: post.created_at, origin };
        }
        const record = decodeStrict<LabeledExample>(reader, item.bytes, { writerType: writer, label: `LabeledExample record ${item.index}` });
        return fromLabeledExample(record, { ner, origin });
      } catch (err) {
        throw new CorpusFormatError(path, item.index, `record ${item.index} (block ${item.block}): ${(err as Error).message}`);
      }
    };

    return containerRecords(path).pipe(
      map((item) => {
        if (item.kind === 'header') return void onHeader(item);
        return parseOrSkip(options, () => toExample(item));
      }),
      filter((e): e is TrainingExample => e !== undefined),
    );
  });
}
