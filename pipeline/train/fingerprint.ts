/** SHA-256 fingerprints of training data files, recorded in the model manifest. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { DataFingerprint } from '../../models/artifact/manifest.js';

export async function fingerprint(role: string, path: string, sentences: number): Promise<DataFingerprint> {
  const bytes = await readFile(path);
  return { role, file: basename(path), sha256: createHash('sha256').update(bytes).digest('hex'), sentences };
}
