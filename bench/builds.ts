/**
 * Checks on the other builds a benchmark compares with (--baseline,
 * --candidate). A git worktree has no build of mentionflow's addon
 * (schemas/native/build is not committed), so in a worktree the Post check,
 * the deflate codec and the CRF decoders run their TypeScript paths, and a
 * comparison with this checkout would not be like for like (BENCHMARKS.md,
 * Limits round 7, where it happened).
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { NATIVE_ADDON_PATH } from '../schemas/nativeAddon.js';

/** Where the addon of the checkout at `root` (its root, or its dist/) would be built. */
export function addonPathOf(root: string): string {
  const top = basename(resolve(root)) === 'dist' ? dirname(resolve(root)) : resolve(root);
  return join(top, 'schemas', 'native', 'build', 'Release', 'mentionflow_native.node');
}

/**
 * A one-line warning when this checkout's addon is built and the one at
 * `root` is not (with how to fix it), else undefined.
 */
export function addonWarning(root: string, label: string): string | undefined {
  if (!existsSync(NATIVE_ADDON_PATH) || existsSync(addonPathOf(root))) return undefined;
  const nativeDir = (addon: string) => dirname(dirname(dirname(addon))); // .../schemas/native of .../build/Release/x.node
  return `warning: the ${label} (${resolve(root)}) has no build of mentionflow's addon, which this checkout has: its Post check, deflate and CRF decoding run in TypeScript. For a like-for-like comparison: cp -r ${join(nativeDir(NATIVE_ADDON_PATH), 'build')} ${nativeDir(addonPathOf(root))}/`;
}

/** addonWarning of each build in `others`, each written to stderr; returned for the report. */
export function warnAboutAddons(others: readonly { root: string; label: string }[]): string[] {
  const warnings = others.flatMap((b) => addonWarning(b.root, b.label) ?? []);
  for (const w of warnings) process.stderr.write(`${w}\n`);
  return warnings;
}
