/**
 * The rows of the paper's Table 1 that can be built here, as training
 * configurations, with the paper's WeiboNER v1 test F1 (named / nominal)
 * for comparison. Rows 2 and 6 add segmentation features from a predicted
 * segmentation: a CRF segmenter (hashed character n-gram features, trained
 * first on the NLPCC 2016 Weibo segmentation corpus, then frozen, carried in
 * the artifact as its segmentation head) tags each sentence with BIES, and
 * the NER head reads (seg tag), (seg tag, char) and neighbouring-tag
 * templates (seg mode `features`, models/features/tagFeatures.ts); the
 * paper's segmenter was trained on SIGHAN PKU instead. The control rows are
 * ours: `control` is row 11's network trained on NER alone, `control-8` row
 * 8's (no sparse features), to see whether the joint objective helps a
 * model that has no n-gram features to lean on. Rows 3 and 4 use
 * embeddings pre-trained here (`embeddings`) on the ~1.2M characters of
 * unlabelled Weibo text at hand, not on the paper's 112M messages: row 3
 * with the paper's char-positional tokens, row 4 with plain characters (our
 * definition: the paper's row 4 could not be looked up here). Rows `11-cp`,
 * `7-cp` and `control-cp` are row 11, the pipeline and row 11's control starting from the
 * char-positional embeddings of row 3, as the paper's LSTM rows started from
 * pre-trained embeddings; with char-positional input the segmentation head
 * also sees jieba's word positions, so its segmentation F1 is not
 * comparable to the other rows'.
 */
import type { SegMode } from '../trainTagger.js';
import type { TrainOptions } from '../options.js';

export interface Table1Row {
  id: string;
  title: string;
  /** Overrides of the base training options. */
  options: Partial<TrainOptions>;
  seg?: SegMode;
  /**
   * Paper's Table 1 (WeiboNER v1 test) F1, named / nominal, for the rows whose
   * figures this project quotes (baseline, pipeline, joint row 11); the
   * paper's prior best (Peng & Dredze 2015) was 44.09 / 40.38.
   */
  paper?: { named: number; nominal: number };
  /**
   * Pre-trained embeddings the row starts from: plain characters or
   * char-positional tokens; the experiment pre-trains them (or reuses its
   * cached file) and sets `embeddingsFile`.
   */
  embeddings?: 'char' | 'char-positional';
}

const FEATURES_ONLY = { useHidden: false, useEmbeddings: false };

export const TABLE1_ROWS: Table1Row[] = [
  { id: '1', title: 'CRF, baseline features', options: { ...FEATURES_ONLY }, paper: { named: 35.59, nominal: 33.8 } },
  { id: '2', title: 'CRF, baseline + segmentation features (predicted segmentation)', options: { ...FEATURES_ONLY }, seg: 'features' },
  { id: '3', title: 'CRF + char-positional embeddings (pre-trained here)', options: { useHidden: false, useEmbeddings: true, charPositional: true }, embeddings: 'char-positional' },
  { id: '4', title: 'CRF + character embeddings (pre-trained here)', options: { useHidden: false, useEmbeddings: true }, embeddings: 'char' },
  { id: '5', title: 'CRF + character embeddings', options: { useHidden: false, useEmbeddings: true } },
  { id: '6', title: 'CRF + character embeddings + segmentation features', options: { useHidden: false, useEmbeddings: true }, seg: 'features' },
  { id: '7', title: 'pipeline: segmentation LSTM pretrained, then NER fine-tuned', options: { useHidden: true, useEmbeddings: true }, seg: 'pipeline', paper: { named: 46.2, nominal: 42.11 } },
  { id: '8', title: 'joint, LSTM without sparse features', options: { useHidden: true, useEmbeddings: true, lexicalBuckets: 0 }, seg: 'joint' },
  { id: '9', title: 'joint, character embeddings (+ features)', options: { useHidden: false, useEmbeddings: true }, seg: 'joint' },
  { id: '10', title: 'joint, LSTM hidden vectors (+ features)', options: { useHidden: true, useEmbeddings: false }, seg: 'joint' },
  { id: '11', title: 'joint, LSTM hidden vectors + embeddings (+ features)', options: { useHidden: true, useEmbeddings: true }, seg: 'joint', paper: { named: 48.41, nominal: 45.67 } },
  { id: 'control', title: 'control: row 11 network trained on NER alone', options: { useHidden: true, useEmbeddings: true } },
  { id: '11-cp', title: 'joint, LSTM hidden vectors + char-positional embeddings pre-trained here (+ features)', options: { useHidden: true, useEmbeddings: true, charPositional: true }, seg: 'joint', embeddings: 'char-positional' },
  { id: '7-cp', title: 'pipeline, from char-positional embeddings pre-trained here', options: { useHidden: true, useEmbeddings: true, charPositional: true }, seg: 'pipeline', embeddings: 'char-positional' },
  { id: 'control-cp', title: 'control: row 11-cp network trained on NER alone', options: { useHidden: true, useEmbeddings: true, charPositional: true }, embeddings: 'char-positional' },
  { id: 'control-8', title: 'control: row 8 network (no sparse features) trained on NER alone', options: { useHidden: true, useEmbeddings: true, lexicalBuckets: 0 } },
];
