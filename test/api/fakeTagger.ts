/** A Tagger that finds every "北京" (GPE.NAM): enough to see records flow through the public API; no model is loaded. */
import type { Mention, Tagger } from '../../index.js';

export const fakeTagger: Tagger = {
  modelId: 'fake',
  modelVersion: '1',
  tag: async (texts) =>
    texts.map((text): Mention[] => {
      const at = text.indexOf('北京');
      return at < 0 ? [] : [{ text: '北京', label: 'GPE.NAM', type: 'GPE', kind: 'NAM', start: at, end: at + 2, start_utf16: at, end_utf16: at + 2, confidence: 0.9 }];
    }),
  dispose: () => undefined,
};
