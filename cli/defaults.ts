/**
 * Locations the CLI falls back on: the project root (found from this file),
 * the shipped default model, and the shared corpora folder.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the nearest ancestor of this module holding package.json. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the mentionflow package root');
    dir = up;
  }
  return dir;
}

/** The model shipped in the repository, used when --model is not given. */
export function defaultModelDir(): string {
  return process.env.MENTIONFLOW_MODEL ?? join(projectRoot(), 'models', 'default');
}

/** The corpora folder: $MENTIONFLOW_CORPORA or ../shared/corpora next to the project. */
export function corporaDir(): string {
  return process.env.MENTIONFLOW_CORPORA ?? resolve(projectRoot(), '..', 'shared', 'corpora');
}
