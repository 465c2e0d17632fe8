/**
 * Forward-pass FLOPs of the tagger counted from its layer shapes (multiply
 * and add count as two), per real character and per padded position.
 */
import type { NetworkConfig } from '../models/network/taggingNetwork.js';
import { FEATURE_TEMPLATES } from '../models/features/lexical.js';

export function forwardFlopsPerPosition(c: NetworkConfig): number {
  const dirs = c.bidirectional ? 2 : 1;
  const h = c.hiddenDim;
  const k = c.ner.numTags;
  let flops = 0;
  const encoder = c.ner.useHidden || c.ner.useEmbeddings;
  if (encoder) {
    flops += dirs * 2 * c.embeddingDim * 4 * h; // input projection x W
    flops += dirs * 2 * h * 4 * h; // recurrent product h U
    flops += dirs * 12 * h; // gates: bias add, 3 sigmoid, 2 tanh, 4 mul, 2 add (approx.)
  }
  const emissionIn = (c.ner.useHidden ? dirs * h : 0) + (c.ner.useEmbeddings ? c.embeddingDim : 0);
  flops += 2 * emissionIn * k; // linear emission
  if (c.ner.lexicalBuckets > 0) flops += FEATURE_TEMPLATES * k; // sum of hashed feature weights
  flops += 2 * k * k; // Viterbi max-plus over transitions
  return flops;
}
