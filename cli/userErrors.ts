/**
 * File-system errors of the paths a user gave (an input that does not exist,
 * a directory where a file was expected, no permission) are user mistakes:
 * one line naming the path, exit 2, rather than an "internal error". The
 * commands check the files they are given up front (args.ts requireFile);
 * this catches what gets past them (a file named inside a config file, an
 * output folder that cannot be created).
 */
import { ConfigError } from '../common/errors.js';

const FS_REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'is a directory, expected a file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENAMETOOLONG: 'file name too long',
  EEXIST: 'already exists',
};

/** The one-line ConfigError for an fs error of a path (also when it is the cause of another error); undefined for anything else. */
export function userMistake(err: unknown): ConfigError | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const { code, path } = e as NodeJS.ErrnoException;
    if (typeof code === 'string' && typeof path === 'string' && FS_REASONS[code] !== undefined) {
      return new ConfigError(`${path}: ${FS_REASONS[code]}`, { cause: err });
    }
  }
  return undefined;
}
