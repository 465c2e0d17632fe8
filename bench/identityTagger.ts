/** The benchmarks' identity tagger: finds nothing, so what is measured around it is the framework alone. */
import type { Mention, Tagger } from '../models/tagger.js';

export class IdentityTagger implements Tagger {
  readonly modelId = 'identity';
  readonly modelVersion = '0';
  tag(texts: readonly string[]): Promise<Mention[][]> {
    return Promise.resolve(texts.map(() => []));
  }
  dispose(): void {}
}
