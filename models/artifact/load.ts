/**
 * Reads and checks a model artifact directory. Anything wrong (missing
 * files, unparsable or incomplete manifest, unknown format version,
 * truncated or corrupted weights, shapes that do not match the network)
 * raises a ModelArtifactError that says what is wrong and what to do.
 *
 * Loading runs beside a serving worker (a hot swap, pipeline/stream/modelFollower.ts),
 * so no step holds the event loop for long: the files are read asynchronously,
 * the weights are hashed HASH_CHUNK at a time and assigned tensor by tensor,
 * with a return to the event loop between steps.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ModelArtifactError } from '../../common/errors.js';
import { thresholdProblem } from '../crf/spanThreshold.js';
import type { ParamMap } from '../layers/params.js';
import { yieldToEventLoop } from '../pace.js';
import { ARTIFACT_FORMAT, ARTIFACT_VERSION, MANIFEST_FILE, type ModelManifest, WEIGHTS_FILE } from './manifest.js';

export interface LoadedArtifact {
  manifest: ModelManifest;
  /** The weights as one float32 buffer; slice by manifest.weights.tensors. */
  weights: Float32Array;
}

async function readOrFail(dir: string, file: string): Promise<Buffer> {
  try {
    return await readFile(join(dir, file));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? `no ${file} (is this a mentionflow model directory? train one with \`mentionflow train-ner\`)` : `cannot read ${file}: ${(err as Error).message}`;
    throw new ModelArtifactError(dir, hint, { cause: err });
  }
}

/** Upgrades older manifests to the current format version (none yet: v1 is the first). */
function migrate(dir: string, raw: Record<string, unknown>): ModelManifest {
  if (raw.format !== ARTIFACT_FORMAT) throw new ModelArtifactError(dir, `${MANIFEST_FILE} is not a ${ARTIFACT_FORMAT} manifest (format=${JSON.stringify(raw.format)})`);
  const v = raw.formatVersion;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ModelArtifactError(dir, 'manifest has no integer formatVersion');
  if (v > ARTIFACT_VERSION) throw new ModelArtifactError(dir, `format version ${v} is newer than this mentionflow supports (${ARTIFACT_VERSION}); upgrade mentionflow`);
  if (v < 1) throw new ModelArtifactError(dir, `format version ${v} is not supported`);
  return raw as unknown as ModelManifest;
}

function requireFields(dir: string, m: ModelManifest): void {
  const missing = ['modelId', 'modelVersion', 'network', 'scheme', 'vocabulary', 'tags', 'weights'].filter(
    (k) => (m as unknown as Record<string, unknown>)[k] === undefined,
  );
  if (missing.length > 0) throw new ModelArtifactError(dir, `manifest lacks ${missing.join(', ')}; the artifact is incomplete, re-export it`);
  if (!Array.isArray(m.weights.tensors)) throw new ModelArtifactError(dir, 'manifest.weights.tensors is not a list');
  if (m.ensemble !== undefined) {
    const members = (m.ensemble as { members?: unknown } | null)?.members;
    if (!Array.isArray(members) || members.length === 0 || !members.every((e) => typeof e === 'object' && e !== null && typeof (e as { network?: unknown }).network === 'object')) {
      throw new ModelArtifactError(dir, 'manifest.ensemble.members must be a non-empty list of members, each with its network; the artifact is incomplete, rebuild it with `mentionflow ensemble`');
    }
  }
  if (m.decoding !== undefined && (typeof m.decoding !== 'object' || m.decoding === null || typeof m.decoding.nonOBias !== 'number' || !Number.isFinite(m.decoding.nonOBias))) {
    throw new ModelArtifactError(dir, `manifest.decoding.nonOBias must be a finite number, got ${JSON.stringify((m.decoding as { nonOBias?: unknown } | null)?.nonOBias)}`);
  }
  const t = m.decoding?.minSpanConfidence;
  const why = t === undefined ? undefined : thresholdProblem(t);
  if (why) throw new ModelArtifactError(dir, `${MANIFEST_FILE}: decoding.minSpanConfidence ${why}; rewrite it with \`mentionflow calibrate --threshold\` or remove the field`);
}

/** Bytes of weights hashed per step (about 2 ms of SHA-256 here). */
const HASH_CHUNK = 1 << 20;

/** Reads and verifies `dir`; does not build a network. */
export async function readArtifact(dir: string): Promise<LoadedArtifact> {
  const text = (await readOrFail(dir, MANIFEST_FILE)).toString('utf8');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ModelArtifactError(dir, `${MANIFEST_FILE} is not valid JSON (${(err as Error).message}); the file is truncated or corrupted`, { cause: err });
  }
  const manifest = migrate(dir, raw);
  requireFields(dir, manifest);
  const bytes = await readOrFail(dir, WEIGHTS_FILE);
  if (bytes.byteLength !== manifest.weights.bytes) {
    throw new ModelArtifactError(dir, `${WEIGHTS_FILE} has ${bytes.byteLength} bytes, the manifest says ${manifest.weights.bytes}: the file is truncated or from another model`);
  }
  const hash = createHash('sha256');
  for (let at = 0; at < bytes.byteLength; at += HASH_CHUNK) {
    hash.update(bytes.subarray(at, at + HASH_CHUNK));
    await yieldToEventLoop();
  }
  const digest = hash.digest('hex');
  if (digest !== manifest.weights.sha256) throw new ModelArtifactError(dir, `${WEIGHTS_FILE} checksum mismatch (sha256 ${digest.slice(0, 12)}..., expected ${manifest.weights.sha256.slice(0, 12)}...): the file is corrupted`);
  // A view when the bytes are 4-byte aligned (a file read whole is), a copy otherwise.
  if (bytes.byteOffset % 4 === 0) return { manifest, weights: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) };
  const weights = new Float32Array(bytes.byteLength / 4);
  Buffer.from(weights.buffer).set(bytes);
  return { manifest, weights };
}

/** Assigns the artifact's weights to `params`, checking names and shapes; returns to the event loop after each tensor. */
export async function assignWeights(dir: string, loaded: LoadedArtifact, params: ParamMap): Promise<void> {
  const entries = new Map(loaded.manifest.weights.tensors.map((t) => [t.name, t]));
  for (const [name, v] of params) {
    const e = entries.get(name);
    if (!e) throw new ModelArtifactError(dir, `weights lack "${name}"; the artifact does not match its own configuration`);
    const size = e.shape.reduce((a, b) => a * b, 1);
    if (e.shape.join('x') !== v.shape.join('x') || e.offset + size > loaded.weights.length) {
      throw new ModelArtifactError(dir, `weight "${name}" has shape [${e.shape}] at offset ${e.offset}, expected [${v.shape}]`);
    }
    tf.tidy(() => v.assign(tf.tensor(loaded.weights.subarray(e.offset, e.offset + size), v.shape, 'float32')));
    entries.delete(name);
    await yieldToEventLoop();
  }
  if (entries.size > 0) throw new ModelArtifactError(dir, `unexpected weights ${[...entries.keys()].join(', ')}`);
}
