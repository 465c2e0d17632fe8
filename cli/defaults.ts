/**
 * Locations the CLI falls back on: the project root (found from this file),
 * the shipped default model, and the shared corpora folder.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkPath, type Parsed } from './args.js';

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

/**
 * The --model directory when given (a ConfigError naming it when it is not
 * a directory: exit 2), else the shipped default model.
 */
export function modelDirOption(p: Parsed): string {
  const dir = p.values.model;
  if (typeof dir !== 'string') return defaultModelDir();
  checkPath(dir, '--model', 'dir');
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
