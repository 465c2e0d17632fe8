/**
 * Pre-trained embedding files. Written in one format:
 *   line 1   a JSON header {format: "mentionflow-embeddings", version: 1,
 *            dim, count, tokens: [...], meta: {...}} (JSON escapes any
 *            newline inside a token, so the header is exactly one line);
 *   then     count * dim little-endian float32, row i = tokens[i].
 * Read in that format and in word2vec's text format ("N D" on the first
 * line, then "token v1 ... vD" a line), so embeddings trained elsewhere (for
 * example the golden-horse release of the paper's Weibo vectors) can be used
 * as they are. Bad files raise a ConfigError naming the file and the problem.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from '../../../common/errors.js';

export const EMBEDDINGS_FORMAT = 'mentionflow-embeddings';
export const EMBEDDINGS_VERSION = 1;

/** What the vectors were trained on and how; every field optional (word2vec text files have none). */
export interface EmbeddingsMeta {
  /** Tokens are char-positional ("北0"), not plain characters. */
  positional?: boolean;
  /** Characters were normalised (full-width -> half-width) before tokenising. */
  normalize?: boolean;
  /** The segmenter of char-positional tokens. */
  segmenter?: string;
  /** The unlabelled text: base file names, SHA-256 and sentence counts. */
  corpus?: { file: string; sha256: string; sentences: number }[];
  /** word2vec hyperparameters and statistics. */
  training?: Record<string, unknown>;
  createdAt?: string;
}

export interface Embeddings {
  dim: number;
  tokens: string[];
  /** [tokens.length, dim] row-major. */
  vectors: Float32Array;
  meta: EmbeddingsMeta;
}

function fail(source: string, why: string): never {
  throw new ConfigError(`embeddings file ${source}: ${why}`);
}

/** Writes `emb` to `path` (temporary name, then renamed into place). */
export async function writeEmbeddings(path: string, emb: Embeddings): Promise<void> {
  if (emb.vectors.length !== emb.tokens.length * emb.dim) fail(path, `${emb.vectors.length} values for ${emb.tokens.length} tokens x ${emb.dim} dims`);
  const header = JSON.stringify({ format: EMBEDDINGS_FORMAT, version: EMBEDDINGS_VERSION, dim: emb.dim, count: emb.tokens.length, tokens: emb.tokens, meta: emb.meta });
  const body = Buffer.from(emb.vectors.buffer, emb.vectors.byteOffset, emb.vectors.byteLength);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, Buffer.concat([Buffer.from(header + '\n', 'utf8'), body]));
  await rename(tmp, path);
}

function parseOwn(bytes: Buffer, newline: number, source: string): Embeddings {
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(bytes.subarray(0, newline).toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    return fail(source, `header is not valid JSON (${(err as Error).message})`);
  }
  if (h.format !== EMBEDDINGS_FORMAT) fail(source, `header format is ${JSON.stringify(h.format)}, expected "${EMBEDDINGS_FORMAT}"`);
  if (h.version !== EMBEDDINGS_VERSION) fail(source, `unsupported version ${JSON.stringify(h.version)} (this mentionflow reads ${EMBEDDINGS_VERSION})`);
  const { dim, count, tokens } = h;
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1) fail(source, `bad dim ${JSON.stringify(dim)}`);
  if (!Array.isArray(tokens) || tokens.length !== count || !tokens.every((t) => typeof t === 'string' && t.length > 0)) {
    fail(source, 'header "tokens" must be an array of "count" non-empty strings');
  }
  if (new Set(tokens as string[]).size !== (tokens as string[]).length) fail(source, 'duplicate tokens');
  const n = (tokens as string[]).length * (dim as number);
  const body = bytes.subarray(newline + 1);
  if (body.byteLength !== n * 4) fail(source, `has ${body.byteLength} bytes of vectors, expected ${n * 4} (${count} x ${dim} float32): the file is truncated or corrupted`);
  const vectors = new Float32Array(n);
  Buffer.from(vectors.buffer).set(body);
  return { dim: dim as number, tokens: tokens as string[], vectors, meta: (h.meta ?? {}) as EmbeddingsMeta };
}

function parseWord2VecText(text: string, source: string): Embeddings {
  const lines = text.split(/\r?\n/);
  const head = lines[0].trim().split(/\s+/).map(Number);
  if (head.length !== 2 || !head.every((x) => Number.isInteger(x) && x > 0)) {
    fail(source, 'neither a mentionflow embeddings file (JSON header) nor word2vec text format ("COUNT DIM" on the first line)');
  }
  const [count, dim] = head;
  const tokens: string[] = [];
  const seen = new Set<string>();
  const vectors = new Float32Array(count * dim);
  for (let i = 1; i < lines.length && tokens.length < count; i++) {
    const line = lines[i].replace(/\s+$/, '');
    if (line.length === 0) continue;
    const fields = line.split(' ');
    if (fields.length !== dim + 1) fail(source, `line ${i + 1}: expected a token and ${dim} numbers, got ${fields.length} fields`);
    const token = fields[0];
    if (seen.has(token)) continue;
    const row = tokens.length;
    for (let k = 0; k < dim; k++) {
      const v = Number(fields[k + 1]);
      if (!Number.isFinite(v)) fail(source, `line ${i + 1}: "${fields[k + 1]}" is not a number`);
      vectors[row * dim + k] = v;
    }
    seen.add(token);
    tokens.push(token);
  }
  return { dim, tokens, vectors: vectors.slice(0, tokens.length * dim), meta: {} };
}

/** Parses the bytes of an embeddings file in either supported format. */
export function parseEmbeddings(bytes: Buffer, source: string): Embeddings {
  const newline = bytes.indexOf(0x0a);
  if (bytes[0] === 0x7b /* '{' */) return parseOwn(bytes, newline < 0 ? bytes.length : newline, source);
  return parseWord2VecText(bytes.toString('utf8'), source);
}

/** Reads an embeddings file (see the module comment). */
export async function readEmbeddings(path: string): Promise<Embeddings> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new ConfigError(`cannot read embeddings file ${path}: ${(err as Error).message}; create one with \`mentionflow pretrain-embeddings --out ${path}\``, { cause: err });
  }
  return parseEmbeddings(bytes, path);
}
