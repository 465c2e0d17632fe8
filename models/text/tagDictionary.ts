/**
 * TagDictionary: tag string <-> integer id for one CRF head. For NER it is
 * built for a label set and a scheme (`forLabels`: 'O' is id 0, then per label
 * B-, I- (BIO) or B-, I-, E-, S- (BIOES), labels in the given order, so ids
 * are deterministic). `fromTags` wraps any fixed tag list (e.g. the
 * segmentation head's B/I/E/S) without a scheme. Serialized as
 * {version: 1, scheme?, tags}.
 */
import { MentionflowError } from '../../common/errors.js';
import { splitTag } from './spans.js';
import { allowedEnd, allowedStart, allowedTransition, isValidTag, schemePrefixes, type TagScheme } from './transitions.js';

export { allowedTransition, type TagScheme } from './transitions.js';

export interface TagDictionaryJSON {
  version: 1;
  /** Present for scheme-based (NER) dictionaries. */
  scheme?: TagScheme;
  tags: string[];
}

export class TagDictionary {
  private readonly ids: Map<string, number>;

  private constructor(
    readonly tags: readonly string[],
    /** The NER scheme, or undefined for a plain tag list. */
    readonly scheme: TagScheme | undefined,
  ) {
    this.ids = new Map(tags.map((t, i) => [t, i]));
  }

  /** 'O', then for each label (given order, duplicates dropped) its tags in scheme prefix order. */
  static forLabels(labels: readonly string[], scheme: TagScheme): TagDictionary {
    const tags = ['O'];
    for (const label of new Set(labels)) {
      if (label.length === 0 || /\s/.test(label)) throw new MentionflowError(`invalid entity label ${JSON.stringify(label)}`);
      for (const p of schemePrefixes(scheme)) tags.push(`${p}-${label}`);
    }
    return new TagDictionary(tags, scheme);
  }

  /** A dictionary over an explicit tag list (ids in list order); tags must be unique and non-empty. */
  static fromTags(tags: readonly string[], scheme?: TagScheme): TagDictionary {
    return TagDictionary.fromJSON({ version: 1, scheme, tags: [...tags] });
  }

  /** Restores a dictionary from `toJSON` output; throws MentionflowError if malformed. */
  static fromJSON(json: unknown): TagDictionary {
    const o = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
    const { scheme, tags } = o;
    const plainOk =
      o.version === 1 &&
      Array.isArray(tags) &&
      tags.length > 0 &&
      tags.every((t) => typeof t === 'string' && t.length > 0) &&
      new Set(tags).size === tags.length;
    const schemeOk =
      scheme === undefined ||
      ((scheme === 'BIO' || scheme === 'BIOES') && Array.isArray(tags) && tags[0] === 'O' && tags.every((t) => isValidTag(t, scheme)));
    if (!plainOk || !schemeOk) {
      throw new MentionflowError(
        'invalid tag dictionary JSON: expected {version: 1, scheme?: "BIO"|"BIOES", tags: [...]} with unique non-empty tags ' +
          '(with a scheme: "O" first and every tag valid in it)',
      );
    }
    return new TagDictionary([...(tags as string[])], scheme as TagScheme | undefined);
  }

  get size(): number {
    return this.tags.length;
  }

  /** Entity labels in id order (types of the non-O tags; empty for a plain tag list like B/I/E/S). */
  get labels(): string[] {
    return [...new Set(this.tags.map((t) => splitTag(t)[1]).filter((l) => l.length > 0))];
  }

  has(tag: string): boolean {
    return this.ids.has(tag);
  }

  /** Id of a tag; throws MentionflowError for a tag not in the dictionary. */
  id(tag: string): number {
    const id = this.ids.get(tag);
    if (id === undefined) throw new MentionflowError(`unknown tag ${JSON.stringify(tag)} (dictionary has ${this.tags.join(' ')})`);
    return id;
  }

  /** Tag of an id; throws MentionflowError for an out-of-range id. */
  tag(id: number): string {
    const t = this.tags[id];
    if (t === undefined) throw new MentionflowError(`tag id ${id} out of range [0, ${this.size})`);
    return t;
  }

  /** Ids of a tag sequence, shape [tags.length]. */
  encode(tags: readonly string[]): Int32Array {
    return Int32Array.from(tags, (t) => this.id(t));
  }

  /** Tags of an id sequence. */
  decode(ids: ArrayLike<number>): string[] {
    return Array.from(ids, (i) => this.tag(i));
  }

  /**
   * Validity masks of the scheme for a constrained CRF: `transitions`
   * [size * size] row-major (from, to), `start` and `end` [size]; 1 = allowed.
   * Throws for a dictionary without a scheme.
   */
  constraintMasks(): { transitions: Uint8Array; start: Uint8Array; end: Uint8Array } {
    const scheme = this.scheme;
    if (scheme === undefined) throw new MentionflowError('constraintMasks needs a tag dictionary with a scheme');
    const n = this.size;
    const transitions = new Uint8Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) transitions[i * n + j] = allowedTransition(this.tags[i], this.tags[j], scheme) ? 1 : 0;
    }
    const start = Uint8Array.from(this.tags, (t) => (allowedStart(t, scheme) ? 1 : 0));
    const end = Uint8Array.from(this.tags, (t) => (allowedEnd(t, scheme) ? 1 : 0));
    return { transitions, start, end };
  }

  toJSON(): TagDictionaryJSON {
    return this.scheme === undefined
      ? { version: 1, tags: [...this.tags] }
      : { version: 1, scheme: this.scheme, tags: [...this.tags] };
  }
}
