/**
 * `mentionflow promote`: puts a model in service in a model store
 * (models/artifact/store.ts). The candidate must load and tag; against the
 * version in service it must pass the comparison (`compare`) on labelled
 * data, or be forced. Then it is added to the store and SERVING points at it;
 * workers following the store (`run --model-store`) swap to it.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, MentionflowError } from '../../common/errors.js';
import { ModelStore, VERSIONS_DIR, versionName } from '../../models/artifact/store.js';
import { useBackend, type BackendChoice } from '../../models/backend.js';
import { type InferencePrecision, useInferencePrecision } from '../../models/layers/nativeLstm.js';
import type { Verdict } from '../../models/eval/pairedBootstrap.js';
import { TaggerModel } from '../../models/taggerModel.js';
import { compareModels, type ModelComparison } from '../../pipeline/train/compare.js';
import { BACKEND_OPTION, checkPath, numberOption, oneOf, PRECISION_OPTION, requireString, type CommandSpec, type Parsed } from '../args.js';
import { checkSourceOption, readLabelled } from '../sourceOption.js';
import { BOOTSTRAP_OPTIONS, bootstrapOptions, comparisonJson, formatComparison, overallLine } from './compare.js';

/** What the candidate must show against the version in service. */
export const REQUIREMENTS = ['no-lower', 'not-worse', 'better'] as const;
export type Requirement = (typeof REQUIREMENTS)[number];

export const spec: CommandSpec = {
  name: 'promote',
  summary: 'put a model in service in a model store: refuses a candidate that fails to load or scores below the version in service (paired bootstrap on --data) unless --force',
  usage: 'mentionflow promote --store DIR (--candidate DIR | --existing NAME) [--data FILE] [--force] [--dry-run] [--json]',
  options: {
    store: { type: 'string', arg: 'DIR', description: 'the model store (versions/, SERVING, history.jsonl); made when missing' },
    candidate: { type: 'string', arg: 'DIR', description: 'model artifact directory to add to the store and promote' },
    existing: { type: 'string', arg: 'NAME', description: 'a version already in the store to promote instead (e.g. to roll back; `ls STORE/versions`)' },
    name: { type: 'string', arg: 'NAME', description: 'version name of the candidate in the store (default: MODEL_ID@MODEL_VERSION, suffixed .2, .3, ... when taken by another artifact)' },
    data: { type: 'string', arg: 'SOURCE', description: 'labelled data (dev; any example source, as eval --data) to compare the candidate with the version in service; needed unless the store serves nothing yet or --force' },
    require: { type: 'string', arg: 'RULE', description: 'what the candidate must show on --data: no-lower (overall F1 >= the served one), not-worse (interval not below 0), better (interval above 0)', choices: REQUIREMENTS, default: 'no-lower' },
    force: { type: 'boolean', description: 'promote even when the comparison refuses it or no --data is given (a candidate that fails to load is refused all the same)' },
    reason: { type: 'string', arg: 'TEXT', description: 'a note kept in SERVING and history.jsonl beside the comparison' },
    'dry-run': { type: 'boolean', description: 'check and compare, print the decision, change nothing' },
    'lock-wait-ms': { type: 'string', arg: 'MS', description: "how long to wait for another promote holding the store's LOCK before giving up (exit 1)", default: '10000' },
    ...BOOTSTRAP_OPTIONS,
    json: { type: 'boolean', description: 'print the decision (and the comparison) as one JSON object' },
    backend: BACKEND_OPTION,
    precision: { ...PRECISION_OPTION, description: `${PRECISION_OPTION.description}; the candidate and the version in service are checked and compared at it (the precision your workers run)` },
  },
  notes: [
    'Exit 0 when promoted (or already in service, or with --dry-run when it would be), 1 when refused, 2 for a usage mistake.',
    'A candidate is refused when it does not load or cannot tag a sentence, even with --force.',
    'Promotes into one store are serialised by STORE/LOCK (pid, host, time); a lock whose process is gone is taken over.',
    'Examples:',
    '  mentionflow promote --store models/store --candidate out/model                     # the first version',
    '  mentionflow promote --store models/store --candidate out/model2 --data dev.conll   # compared with the served one',
    '  mentionflow promote --store models/store --existing ner-bilstm-crf@2026-12-01-seed1 --force   # roll back',
  ].join('\n'),
};

/** Whether the comparison passes `rule`. */
export function passes(rule: Requirement, delta: number, verdict: Verdict): boolean {
  if (rule === 'better') return verdict === 'better';
  if (rule === 'not-worse') return verdict !== 'worse';
  return delta >= 0;
}

/** A refusal: exit code 1, the reason on stderr. */
class PromotionRefused extends MentionflowError {}

/** Loads the artifact and tags one sentence with it; a MentionflowError saying why when it cannot. */
async function checkLoads(dir: string): Promise<{ id: string; version: string }> {
  let model: TaggerModel | undefined;
  try {
    const loaded = await TaggerModel.load(dir);
    model = loaded.model;
    const [pred] = await model.predict([[...'我在北京见到了周杰伦']]);
    if (pred === undefined || pred.tags.length !== 10) throw new Error('tagging a test sentence gave no tags');
    return { id: loaded.manifest.modelId, version: loaded.manifest.modelVersion };
  } catch (err) {
    throw new PromotionRefused(`refused: candidate ${dir} fails to load: ${(err as Error).message}`, { cause: err });
  } finally {
    model?.dispose();
  }
}

/** The candidate's name in the store: `wanted`, or the default name (suffixed when another artifact holds it); `existing` when that very artifact is in already. */
async function nameInStore(store: ModelStore, candidate: string, id: string, version: string, wanted: string | undefined): Promise<{ name: string; existing: boolean }> {
  if (wanted !== undefined) {
    store.versionDir(wanted); // checks the name
    return { name: wanted, existing: false };
  }
  const manifest = await readFile(join(candidate, 'manifest.json'), 'utf8');
  const taken = new Set(await store.versions());
  const base = versionName(id, version);
  for (let k = 1; ; k++) {
    const name = k === 1 ? base : `${base}.${k}`;
    if (!taken.has(name)) return { name, existing: false };
    const other = await readFile(join(store.versionDir(name), 'manifest.json'), 'utf8').catch(() => '');
    if (other === manifest) return { name, existing: true };
  }
}

export async function run(p: Parsed): Promise<number> {
  const storeDir = requireString(p, 'store', spec.name);
  const candidateDir = typeof p.values.candidate === 'string' ? p.values.candidate : undefined;
  const storedName = typeof p.values.existing === 'string' ? p.values.existing : undefined;
  if ((candidateDir === undefined) === (storedName === undefined)) throw new ConfigError('give either --candidate DIR or --existing NAME');
  if (storedName !== undefined && p.values.name !== undefined) throw new ConfigError('--name names a new --candidate; --existing promotes one already in the store');
  if (candidateDir !== undefined) checkPath(candidateDir, '--candidate', 'dir');
  const data = typeof p.values.data === 'string' ? p.values.data : undefined;
  if (data !== undefined) await checkSourceOption(data, '--data', 'ner');
  const rule = oneOf(p, 'require', REQUIREMENTS);
  const force = p.values.force === true;
  const dryRun = p.values['dry-run'] === true;
  const options = bootstrapOptions(p);
  const lockWaitMs = numberOption(p, 'lock-wait-ms', { integer: true, min: 0, max: 3_600_000 }) as number;
  await useBackend(p.values.backend as BackendChoice);
  useInferencePrecision(p.values.precision as InferencePrecision);
  if (dryRun && candidateDir !== undefined && !existsSync(join(storeDir, VERSIONS_DIR))) {
    // the first promotion, tried dry: nothing to compare with, and no store is made
    const loaded = await checkLoads(candidateDir);
    const name = typeof p.values.name === 'string' ? p.values.name : versionName(loaded.id, loaded.version);
    const text = `would promote ${name} (first version in the store); --dry-run: nothing changed, ${storeDir} not made`;
    process.stdout.write(p.values.json ? `${JSON.stringify({ decision: 'would-promote', store: storeDir, candidate: candidateDir, version: name, serving: null, dryRun })}\n` : `${text}\n`);
    return 0;
  }
  const store = await ModelStore.open(storeDir, { create: candidateDir !== undefined && !dryRun });

  const source = candidateDir ?? store.versionDir(storedName as string);
  if (storedName !== undefined && !(await store.versions()).includes(storedName)) {
    throw new ConfigError(`model store ${store.dir}: no version ${storedName} (versions: ${(await store.versions()).join(', ') || 'none'})`);
  }
  const loads = await checkLoads(source);
  const { name, existing } = candidateDir === undefined ? { name: storedName as string, existing: true } : await nameInStore(store, candidateDir, loads.id, loads.version, p.values.name as string | undefined);
  const serving = await store.serving();

  const report: Record<string, unknown> = { store: store.dir, candidate: source, version: name, serving: serving?.version ?? null, require: rule, force, dryRun };
  const finish = (decision: string, text: string, code: number): number => {
    if (p.values.json) process.stdout.write(`${JSON.stringify({ decision, ...report })}\n`);
    else process.stdout.write(`${text}\n`);
    return code;
  };

  if (serving?.version === name) return finish('already-serving', `${name} is already in service in ${store.dir}; nothing to do`, 0);

  let comparison: ModelComparison | undefined;
  let why: string;
  if (serving === undefined) {
    why = 'first version in the store';
  } else if (data === undefined) {
    if (!force) throw new ConfigError(`the store serves ${serving.version}: give --data FILE to compare the candidate with it, or --force`);
    why = `forced, not compared with ${serving.version}`;
  } else {
    comparison = await compareModels(store.versionDir(serving.version), source, await readLabelled(data), options);
    report.comparison = comparisonJson(comparison, data);
    if (!p.values.json) process.stdout.write(`${formatComparison(comparison, data)}\n\n`);
    const o = comparison.comparison.overall;
    const ok = passes(rule, o.delta, comparison.comparison.verdict);
    const summary = `${overallLine(comparison)} vs ${serving.version} on ${data}, ${comparison.comparison.verdict}`;
    if (!ok && !force) {
      report.reason = summary;
      if (p.values.json) process.stdout.write(`${JSON.stringify({ decision: 'refused', ...report })}\n`);
      throw new PromotionRefused(`refused: ${name} does not meet --require ${rule}: ${summary}; nothing changed (--force to promote it anyway)`);
    }
    why = `${ok ? '' : `forced past --require ${rule}: `}${summary}`;
  }
  const reason = typeof p.values.reason === 'string' ? `${p.values.reason}; ${why}` : why;
  report.reason = reason;
  if (dryRun) return finish('would-promote', `would promote ${name} (${reason}); --dry-run: nothing changed`, 0);
  // The store's lock makes the last steps one transaction against other promotes: SERVING read
  // again (another promote may have moved it while this one compared: then this comparison is
  // void), the name chosen, the artifact copied in, SERVING moved and the history line appended.
  const pointer = await store.withLock('promote', async () => {
    const now = await store.serving();
    if (now?.version !== serving?.version) {
      throw new PromotionRefused(`refused: SERVING moved from ${serving?.version ?? 'nothing'} to ${now?.version ?? 'nothing'} while ${name} was being checked; nothing changed, run promote again to compare with it`);
    }
    let final = { name, existing };
    if (candidateDir !== undefined && p.values.name === undefined) final = await nameInStore(store, candidateDir, loads.id, loads.version, undefined); // a concurrent promote may have taken the name
    if (candidateDir !== undefined && !final.existing) await store.add(candidateDir, final.name);
    report.version = final.name;
    return store.promote(final.name, reason);
  }, { waitMs: lockWaitMs });
  report.promotedAt = pointer.promotedAt;
  return finish('promoted', `promoted ${pointer.version} in ${store.dir}${pointer.previous ? ` (previous: ${pointer.previous})` : ''}: ${reason}`, 0);
}
