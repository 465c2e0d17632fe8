/**
 * Using pre-trained embeddings in a tagger:
 *   - `withPretrainedTokens` extends the training vocabulary with every token
 *     of the embeddings file (appended after the training tokens, in file
 *     order), so characters never seen in the NER training data but seen in
 *     the unlabelled text keep their pre-trained vector at test time instead
 *     of falling to UNK;
 *   - `initEmbeddingRows` overwrites the embedding-table rows of the tokens
 *     the file has with its vectors, unscaled; the other rows (PAD, UNK,
 *     tokens the file lacks) keep their random initialisation. All rows are
 *     then fine-tuned by NER training (rows of tokens absent from the
 *     training data get no gradient and stay as pre-trained).
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../../common/errors.js';
import type { TaggerModel } from '../../../models/taggerModel.js';
import { normalizeChar } from '../../../models/text/normalize.js';
import { PAD_TOKEN, UNK_TOKEN, Vocabulary } from '../../../models/text/vocabulary.js';
import type { Embeddings } from './embeddingsFile.js';

/** `vocab` plus the file's tokens it lacks (tokens a normalising vocabulary could never look up are skipped). */
export function withPretrainedTokens(vocab: Vocabulary, emb: Embeddings): Vocabulary {
  const json = vocab.toJSON();
  const have = new Set(json.tokens);
  for (const t of emb.tokens) {
    if (t === PAD_TOKEN || t === UNK_TOKEN || have.has(t)) continue;
    if (vocab.normalize && normalizeChar(t) !== t) continue;
    have.add(t);
    json.tokens.push(t);
  }
  return Vocabulary.fromJSON(json);
}

export interface InitReport {
  /** Vocabulary rows set from the file. */
  initialised: number;
  /** Vocabulary size, PAD and UNK included. */
  rows: number;
}

/** Copies the file's vectors into the model's embedding table (see module comment). */
export function initEmbeddingRows(model: TaggerModel, emb: Embeddings, source: string): InitReport {
  const encoder = model.network.encoder;
  if (!encoder) throw new ConfigError(`embeddings file ${source}: this model has no embedding table (set useHidden or useEmbeddings)`);
  const table = encoder.embedding.table;
  const [rows, dim] = table.shape;
  if (emb.dim !== dim) throw new ConfigError(`embeddings file ${source} has ${emb.dim}-dimensional vectors but embeddingDim is ${dim}; set embeddingDim to ${emb.dim} or pre-train with --dim ${dim}`);
  const fileRow = new Map(emb.tokens.map((t, i) => [t, i]));
  const values = table.dataSync() as Float32Array;
  const updated = Float32Array.from(values);
  let initialised = 0;
  for (let id = 2; id < rows; id++) {
    const token = model.vocab.token(id);
    const r = fileRow.get(token);
    if (r === undefined) continue;
    updated.set(emb.vectors.subarray(r * dim, (r + 1) * dim), id * dim);
    initialised++;
  }
  tf.tidy(() => table.assign(tf.tensor2d(updated, [rows, dim])));
  return { initialised, rows };
}
