/**
 * A Tagger whose model can be replaced while it serves (hot swap). Each
 * batch leases the model in service when it starts (Tagger.lease) and keeps
 * it to the end, retries included; swap() makes the next lease use the new
 * model and disposes the old one once its last lease is released, so a batch
 * in flight finishes on the model it started with and the old model's
 * tensors (or thread) are freed right after. Calling tag() directly leases
 * for that one call.
 *
 * No timers and no I/O here: what to load and when (following a model store)
 * is the caller's business (pipeline/stream/modelFollower.ts).
 */
import { ConfigError, TaggingError } from '../common/errors.js';
import type { Mention } from './mention.js';
import type { ModelVersionRef, Tagger, TaggerLease } from './tagger.js';

/** A model in service or retiring: its tagger, the name records carry, and the batches using it. */
interface Slot {
  tagger: Tagger;
  model: ModelVersionRef;
  leases: number;
  retired: boolean;
}

function checkRef(model: ModelVersionRef): ModelVersionRef {
  if (typeof model?.id !== 'string' || model.id === '' || typeof model.version !== 'string' || model.version === '') {
    throw new ConfigError(`SwappableTagger: the model reference needs a non-empty id and version, got ${JSON.stringify(model)}`);
  }
  return { id: model.id, version: model.version };
}

export class SwappableTagger implements Tagger {
  private current: Slot;
  /** Swapped out but still leased by a batch in flight. */
  private readonly retiring = new Set<Slot>();
  private disposed = false;

  /** `model` defaults to the tagger's own id and version. */
  constructor(tagger: Tagger, model: ModelVersionRef = { id: tagger.modelId, version: tagger.modelVersion }) {
    if (typeof tagger?.tag !== 'function') throw new ConfigError('SwappableTagger: pass a Tagger such as NeuralTagger');
    this.current = { tagger, model: checkRef(model), leases: 0, retired: false };
  }

  get modelId(): string {
    return this.current.model.id;
  }

  get modelVersion(): string {
    return this.current.model.version;
  }

  /** The model in service (what the next lease gets). */
  get model(): ModelVersionRef {
    return { ...this.current.model };
  }

  /** The tagger in service (e.g. for its memory()). */
  get serving(): Tagger {
    return this.current.tagger;
  }

  /** Models swapped out whose last batch has not finished yet. */
  get retiringCount(): number {
    return this.retiring.size;
  }

  lease(): TaggerLease {
    if (this.disposed) throw new TaggingError('the swappable tagger is disposed');
    const slot = this.current;
    slot.leases++;
    let released = false;
    return {
      tagger: slot.tagger,
      model: { ...slot.model },
      release: () => {
        if (released) return;
        released = true;
        slot.leases--;
        if (slot.retired && slot.leases === 0 && !this.disposed) this.retire(slot);
      },
    };
  }

  async tag(texts: readonly string[]): Promise<Mention[][]> {
    const lease = this.lease();
    try {
      return await lease.tagger.tag(texts);
    } finally {
      lease.release();
    }
  }

  /**
   * Puts `tagger` in service as `model` (default: its own id and version):
   * leases taken from now on get it. The model it replaces is disposed now if
   * no batch holds it, else when the last one releases it. Returns the
   * replaced model's reference.
   */
  swap(tagger: Tagger, model: ModelVersionRef = { id: tagger.modelId, version: tagger.modelVersion }): ModelVersionRef {
    if (this.disposed) throw new TaggingError('the swappable tagger is disposed');
    if (typeof tagger?.tag !== 'function') throw new ConfigError('SwappableTagger.swap: pass a Tagger such as NeuralTagger');
    if (tagger === this.current.tagger) throw new ConfigError('SwappableTagger.swap: that tagger is already in service');
    const next: Slot = { tagger, model: checkRef(model), leases: 0, retired: false };
    const old = this.current;
    this.current = next;
    old.retired = true;
    if (old.leases === 0) this.retire(old);
    else this.retiring.add(old);
    return { ...old.model };
  }

  /** Disposes the model in service and every retiring one (batches still holding one fail). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const slot of [...this.retiring, this.current]) slot.tagger.dispose();
    this.retiring.clear();
  }

  private retire(slot: Slot): void {
    this.retiring.delete(slot);
    slot.tagger.dispose();
  }
}
