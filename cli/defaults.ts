/**
 * Locations the CLI falls back on: the project root (found from this file),
 * the shipped default model, and the shared corpora folder.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../common/errors.js';
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

/**
 * The directories of a model option that takes a list: one directory, or
 * comma-separated ones (the seeds of a configuration). A ConfigError naming
 * `flag` for an empty entry, a directory given twice or one that is not a
 * directory.
 */
export function modelDirList(value: string, flag: string): string[] {
  const dirs = value.split(',').map((d) => d.trim());
  if (dirs.some((d) => d === '')) throw new ConfigError(`${flag} ${JSON.stringify(value)}: an empty entry in the list of model directories`);
  if (new Set(dirs).size !== dirs.length) throw new ConfigError(`${flag} lists a directory twice: ${value}`);
  for (const d of dirs) checkPath(d, flag, 'dir');
  return dirs;
}

/** The model shipped in the repository, used when --model is not given. */
export function defaultModelDir(): string {
  return process.env.MENTIONFLOW_MODEL ?? join(projectRoot(), 'models', 'default');
}

/** The corpora folder: $MENTIONFLOW_CORPORA or ../shared/corpora next to the project. */
export function corporaDir(): string {
  return process.env.MENTIONFLOW_CORPORA ?? resolve(projectRoot(), '..', 'shared', 'corpora');
}
