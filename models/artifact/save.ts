/**
 * Writes a model artifact into a directory: each file is written under a
 * temporary name and renamed into place (weights first, manifest last), so
 * a crash mid-save never leaves a half-written file under its final name,
 * and a manifest never names weights it was not written with (the weights'
 * checksum is in the manifest). Other files in the directory (training
 * history, plots, model card) are left alone.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ParamMap } from '../layers/params.js';
import { ARTIFACT_FORMAT, manifestVersion, MANIFEST_FILE, type ModelManifest, WEIGHTS_FILE, type WeightEntry } from './manifest.js';

export type ManifestDraft = Omit<ModelManifest, 'format' | 'formatVersion' | 'weights'>;

/** Serialises `params` (in map order) and `draft` into `dir`. */
export async function saveArtifact(dir: string, draft: ManifestDraft, params: ParamMap): Promise<ModelManifest> {
  const tensors: WeightEntry[] = [];
  let total = 0;
  for (const [name, v] of params) {
    tensors.push({ name, shape: v.shape.slice(), offset: total });
    total += v.size;
  }
  const data = new Float32Array(total);
  for (const [i, v] of [...params.values()].entries()) data.set(v.dataSync() as Float32Array, tensors[i].offset);
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const manifest: ModelManifest = {
    format: ARTIFACT_FORMAT,
    formatVersion: manifestVersion(draft),
    ...draft,
    weights: {
      file: WEIGHTS_FILE,
      dtype: 'float32',
      bytes: bytes.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      tensors,
    },
  };
  await mkdir(dir, { recursive: true });
  const suffix = `.tmp-${process.pid}`;
  await writeFile(join(dir, WEIGHTS_FILE + suffix), bytes);
  await writeFile(join(dir, MANIFEST_FILE + suffix), JSON.stringify(manifest, null, 1) + '\n');
  await rename(join(dir, WEIGHTS_FILE + suffix), join(dir, WEIGHTS_FILE));
  await rename(join(dir, MANIFEST_FILE + suffix), join(dir, MANIFEST_FILE));
  return manifest;
}
