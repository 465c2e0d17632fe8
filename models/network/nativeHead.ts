/**
 * A CRF head's emissions at inference in one C call (schemas/native/lstm.c,
 * emissionsPacked): the embedding rows, the (Bi)LSTM (nativeLstm.ts), the
 * head's linear layer and its lexical features' sum, with no tensor made on
 * the way. It computes what CrfHead.emissions computes over
 * CharEncoder.apply, to float32 rounding (other summation orders, the C
 * kernel's exp), for the characters of the given sentences only (the rows of
 * no sentence, a padded batch's padding, stay 0). Where it runs: where the
 * LSTM's C kernel runs (nativeLstmAvailable) and the head reads the encoder.
 *
 * Shapes: ids [N] (the characters on the flat axis), features [N * F] when
 * the head has lexical features, sentence j at starts[j] for lengths[j]
 * characters -> emissions [N * K].
 */
import { nativeAddon } from '../../schemas/nativeAddon.js';
import { hostValues, inferencePrecision } from '../layers/nativeLstm.js';
import type { CharEncoder } from './charEncoder.js';
import type { CrfHead } from './crfHead.js';

const EMPTY_F32 = new Float32Array(0);
const EMPTY_I32 = new Int32Array(0);

export interface HeadInputsHost {
  ids: Int32Array;
  features?: Int32Array;
  /** F, when features are present. */
  featuresPerStep?: number;
  starts: Int32Array;
  lengths: Int32Array;
}

/** The weights nativeHeadEmissions reads, as host arrays (read once per weights version: hostValues, LstmEncoder.nativeWeights). */
function headWeights(encoder: CharEncoder, head: CrfHead, lexical: boolean): Float32Array[] {
  return [
    hostValues(encoder.embedding.table),
    head.config.useHidden ? encoder.lstm.nativeWeights().prepared : EMPTY_F32,
    head.linear ? hostValues(head.linear.weight) : EMPTY_F32,
    head.linear ? hostValues(head.linear.bias) : EMPTY_F32,
    head.lexical && lexical ? hostValues(head.lexical.table) : EMPTY_F32,
  ];
}

/**
 * Reads the weights of `head` into host memory now (TaggerModel.load, a hot
 * swap's load), so that the first call after a load does not.
 */
export function prepareNativeHead(encoder: CharEncoder, head: CrfHead): void {
  headWeights(encoder, head, head.config.lexicalBuckets > 0);
}

/** emissionsPacked's dims[7]: the precision of the LSTM's products. */
const PRECISION_CODE = { float32: 0, bfloat16: 1, int8: 2 } as const;

/** The emissions [N * K] of `head` over `encoder` for the sentences of `inputs`. */
export function nativeHeadEmissions(encoder: CharEncoder, head: CrfHead, inputs: HeadInputsHost): Float32Array {
  const addon = nativeAddon();
  if (addon === null) throw new Error("nativeHeadEmissions needs mentionflow's addon (bash deploy/native/build-native-addon.sh)");
  const { useHidden, useEmbeddings, numTags, lexicalBuckets } = head.config;
  const f = lexicalBuckets > 0 ? (inputs.featuresPerStep ?? 0) : 0;
  if (lexicalBuckets > 0 && (inputs.features === undefined || f === 0)) throw new Error('nativeHeadEmissions: this head needs lexical feature ids');
  const { inputDim, hiddenDim } = encoder.lstm.options;
  const dims = Int32Array.of(inputDim, hiddenDim, encoder.lstm.dirs, numTags, f, useHidden ? 1 : 0, useEmbeddings ? 1 : 0, PRECISION_CODE[inferencePrecision()]);
  const out = new Float32Array(inputs.ids.length * numTags);
  if (inputs.ids.length === 0) return out;
  const [emb, prepared, linW, linB, lex] = headWeights(encoder, head, f > 0);
  addon.emissionsPacked(emb, prepared, linW, linB, lex, inputs.ids, f > 0 ? inputs.features! : EMPTY_I32, inputs.starts, inputs.lengths, dims, out);
  return out;
}
