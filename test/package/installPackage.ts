/**
 * Packs the package as published (`npm pack`) and installs the tarball into
 * a temporary project without the network: the project's package-lock.json
 * is derived from ours (our production entries, plus @types/node for type
 * checking), so `npm ci --offline` takes every dependency from the npm cache
 * that installing this repository (`npm ci`) filled. Install scripts are off:
 * tfjs-node's would download libtensorflow from outside npm, so the
 * installed package has no native TensorFlow addon and runs on the WASM
 * backend (loadTagger's 'auto' falls back with a warning), which is what a
 * user who installs it with --ignore-scripts gets.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../cli/defaults.js';

interface LockEntry {
  dev?: boolean;
  [key: string]: unknown;
}

/** Packages of our lockfile a consumer needs besides the production tree: the types `tsc` checks the examples with. */
const TYPE_PACKAGES = ['@types/node', 'undici-types'];

export interface InstalledPackage {
  /** The temporary project; the package is in node_modules/<name>. */
  dir: string;
  /** The tarball npm pack made. */
  tarball: string;
  name: string;
  version: string;
}

/** Runs a command, returning stdout; throws with its stderr on failure. */
export function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  try {
    return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${e.status}:\n${e.stderr ?? ''}\n${e.stdout ?? ''}`);
  }
}

export function packAndInstall(): InstalledPackage {
  const root = projectRoot();
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; license: string; dependencies: Record<string, string>; bin: Record<string, string>; engines: Record<string, string> };
  const work = mkdtempSync(join(tmpdir(), 'mentionflow-pkg-'));
  const packDir = join(work, 'pack');
  mkdirSync(packDir);
  const packed = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', packDir], root)) as { filename: string }[];
  const tarball = join(packDir, packed[0].filename);

  const dir = join(work, 'app');
  mkdirSync(dir);
  const spec = `file:${tarball}`;
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const packages: Record<string, LockEntry> = {
    '': { name: 'app', dependencies: { [pkg.name]: spec, ...Object.fromEntries(TYPE_PACKAGES.map((p) => [p, String(lock.packages[`node_modules/${p}`]?.version)])) } },
    [`node_modules/${pkg.name}`]: { version: pkg.version, resolved: spec, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || path.startsWith(`node_modules/${pkg.name}/`)) continue;
    const typePackage = TYPE_PACKAGES.some((p) => path === `node_modules/${p}`);
    if (entry.dev && !typePackage) continue;
    const { dev: _dev, ...rest } = entry;
    packages[path] = rest;
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: packages[''].dependencies }, null, 2));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'app', lockfileVersion: 3, requires: true, packages }, null, 2));
  run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], dir);
  return { dir, tarball, name: pkg.name, version: pkg.version };
}
