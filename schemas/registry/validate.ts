/**
 * Validation: every reason a value does not match a schema, with the field
 * path of each: what avsc's isValid rejects, and the values avsc accepts but
 * cannot write faithfully (WIRE_RULES).
 */
import type { Type } from 'avsc';
import { MentionflowError } from '../../common/errors.js';
import { MIN_EXACT_LONG } from '../wire.js';

/** One reason a value does not match a schema. */
export interface ValidationIssue {
  /** Field path, e.g. `mentions[0].type` or `attributes["client"]`; '' for the value itself. */
  path: string;
  message: string;
}

/** A value that does not match the schema it was to be encoded with. */
export class SchemaValidationError extends MentionflowError {
  constructor(
    readonly label: string,
    readonly issues: readonly ValidationIssue[],
  ) {
    super(
      `invalid ${label}: ` +
        issues.map((i) => (i.path === '' ? i.message : `${i.path}: ${i.message}`)).join('; '),
    );
  }
}

interface TypeView {
  typeName: string;
  name?: string;
  types?: TypeView[];
  fields?: Array<{ name: string; type: TypeView }>;
  itemsType?: TypeView;
  valuesType?: TypeView;
  symbols?: string[];
}

function describeType(t: TypeView): string {
  if (t.typeName.startsWith('union')) return (t.types ?? []).map(describeType).join(' | ');
  if (t.typeName === 'enum') return `${t.name ?? 'enum'} (${(t.symbols ?? []).join('|')})`;
  if (t.typeName === 'array') return `array<${describeType(t.itemsType as TypeView)}>`;
  if (t.typeName === 'map') return `map<${describeType(t.valuesType as TypeView)}>`;
  return t.name ?? t.typeName;
}

function preview(value: unknown): string {
  if (value === undefined) return 'undefined (missing)';
  if (Buffer.isBuffer(value)) return `Buffer(${value.length})`;
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Render avsc's errorHook path (field names, indexes, map keys) by walking the type. */
function formatPath(root: TypeView, parts: readonly string[]): string {
  let out = '';
  let t: TypeView | undefined = root;
  for (const part of parts) {
    // Unions add no path segment: step into the branch the next segment belongs to.
    while (t !== undefined && t.typeName.startsWith('union')) {
      t = (t.types ?? []).find((b: TypeView) =>
        b.typeName === 'record' ? (b.fields ?? []).some((f) => f.name === part) : b.typeName === 'array' || b.typeName === 'map',
      );
    }
    if (t?.typeName === 'record') {
      out += out === '' ? part : `.${part}`;
      t = t.fields?.find((f) => f.name === part)?.type;
    } else if (t?.typeName === 'array') {
      out += `[${part}]`;
      t = t.itemsType;
    } else if (t?.typeName === 'map') {
      out += `[${JSON.stringify(part)}]`;
      t = t.valuesType;
    } else {
      out += /^\d+$/.test(part) ? `[${part}]` : `.${part}`;
      t = undefined;
    }
  }
  return out;
}

/** isValid's options on the hot path: one object for every call, not one per record. */
const STRICT = { noUndeclaredFields: true } as const;

/**
 * Every reason `value` does not match `type` (empty when it does). Fields that
 * are not in the schema count as errors; fields with a default may be omitted.
 * Beyond avsc's isValid, values that avsc would accept but write incorrectly
 * are errors too: strings with a lone UTF-16 surrogate (written as U+FFFD),
 * longs below -2^52 (written as a different number, see MIN_EXACT_LONG) and
 * the map key "__proto__" (dropped by avsc when decoding).
 */
export function validate(type: Type, value: unknown): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const root = type as unknown as TypeView;
  // Hot path: one check without hooks (undeclared fields included) and the
  // compiled wire-safety predicate; the passes that say what is wrong run
  // only when one of them fails.
  if (type.isValid(value, STRICT)) {
    if (!wireCheck(root)(value)) wireCheck(root)(value, { at: [], issues });
    return issues;
  }
  // Pass 1: wrong or missing values. avsc stops descending into a record that
  // has undeclared fields, so those are collected in a second pass.
  type.isValid(value, {
    errorHook: (parts: string[], val: unknown, t: Type) => {
      issues.push({ path: formatPath(root, parts), message: `expected ${describeType(t as never)}, got ${preview(val)}` });
    },
  });
  type.isValid(value, {
    noUndeclaredFields: true,
    errorHook: (parts: string[], val: unknown, t: Type) => {
      const view = t as unknown as TypeView;
      if (view.typeName !== 'record' || val === null || typeof val !== 'object' || Buffer.isBuffer(val)) return;
      const declared = new Set((view.fields ?? []).map((f) => f.name));
      const extra = Object.keys(val).filter((k) => !declared.has(k));
      if (extra.length > 0) {
        issues.push({
          path: formatPath(root, parts),
          message: `undeclared field(s) ${extra.join(', ')} in ${describeType(view)}`,
        });
      }
    },
  });
  if (issues.length === 0) wireCheck(root)(value, { at: [], issues });
  return issues;
}


/** Matches a lone surrogate (with the u flag a valid pair is one astral code point, not Cs). */
const LONE_SURROGATE = /\p{Cs}/u;

/** Same as LONE_SURROGATE.test(s); String.prototype.isWellFormed (Node 20) where available. */
const hasLoneSurrogate: (s: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? (s) => !(s as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (s) => LONE_SURROGATE.test(s);

/** A value avsc accepts but cannot round-trip: when it is broken, and what to say. */
interface WireRule<T> {
  broken: (value: T) => boolean;
  message: (value: T) => string;
}

/**
 * The values avsc accepts but cannot round-trip faithfully, by where they
 * occur: strings with a lone surrogate (written as U+FFFD), longs below
 * -2^52 (written as another number, see MIN_EXACT_LONG), map keys with a
 * lone surrogate, and the map key "__proto__" (lost on decoding). The one
 * place these rules are written: wireCheck compiles them into both the fast
 * predicate and the pass that reports each issue with its path.
 */
const WIRE_RULES: { string: WireRule<string>[]; long: WireRule<number>[]; mapKey: WireRule<string>[] } = {
  string: [{ broken: hasLoneSurrogate, message: () => 'string contains a lone UTF-16 surrogate (would be written as U+FFFD)' }],
  long: [{ broken: (n) => n < MIN_EXACT_LONG, message: (n) => `long ${n} is below -2^52 and would be corrupted by avsc` }],
  mapKey: [
    { broken: hasLoneSurrogate, message: () => 'map key contains a lone UTF-16 surrogate' },
    { broken: (k) => k === '__proto__', message: () => 'map key "__proto__" cannot be decoded by avsc' },
  ],
};

/**
 * WIRE_RULES as one predicate per place, "some rule is broken": for code that
 * checks values on its own (writer.ts's compiled writers) without restating a rule.
 */
export const wireBroken: { string: (s: string) => boolean; long: (n: number) => boolean; mapKey: (k: string) => boolean } = {
  string: anyBroken(WIRE_RULES.string),
  long: anyBroken(WIRE_RULES.long),
  mapKey: anyBroken(WIRE_RULES.mapKey),
};

/** Where a reporting pass is: the path so far (one array extended and restored in place) and the issues found. */
interface Report {
  at: string[];
  issues: ValidationIssue[];
}

/**
 * True when the value breaks no WIRE_RULE. Without a report it stops at the
 * first broken rule (no paths, no allocation); with one it goes on and
 * records every issue with its path. Only for values that passed isValid.
 */
type WireCheck = (value: unknown, report?: Report) => boolean;

const checkCache = new WeakMap<TypeView, WireCheck>();
const ALWAYS_SAFE: WireCheck = () => true;

function pathOf(segments: readonly string[]): string {
  return segments.join('').replace(/^\./, '');
}

/** Applies rules to a value: without a report, whether none is broken; with one, each broken rule becomes an issue at the current path. */
function applyRules<T>(rules: readonly WireRule<T>[], value: T, report: Report | undefined): boolean {
  let safe = true;
  for (const rule of rules) {
    if (!rule.broken(value)) continue;
    if (report === undefined) return false;
    report.issues.push({ path: pathOf(report.at), message: rule.message(value) });
    safe = false;
  }
  return safe;
}

/** `rules` as one predicate, "some rule is broken" (the rule's own function when there is one). */
function anyBroken<T>(rules: readonly WireRule<T>[]): (value: T) => boolean {
  if (rules.length === 1) return rules[0].broken;
  return (value) => rules.some((r) => r.broken(value));
}

/** The WireCheck of a type, compiled once per type (a recursive type reaches itself while compiling). */
function wireCheck(type: TypeView): WireCheck {
  const cached = checkCache.get(type);
  if (cached !== undefined) return cached;
  const finished: { check?: WireCheck } = {};
  checkCache.set(type, (value, report) => finished.check!(value, report));
  finished.check = compileWireCheck(type);
  checkCache.set(type, finished.check);
  return finished.check;
}

/**
 * Each kind of type checks its part of the value; the report-less branch of
 * each closure is the hot path of every encode (no path kept, no allocation).
 */
function compileWireCheck(type: TypeView): WireCheck {
  switch (type.typeName) {
    case 'string': {
      const broken = anyBroken(WIRE_RULES.string);
      return (value, report) => typeof value !== 'string' || (report === undefined ? !broken(value) : applyRules(WIRE_RULES.string, value, report));
    }
    case 'long': {
      const broken = anyBroken(WIRE_RULES.long);
      return (value, report) => typeof value !== 'number' || (report === undefined ? !broken(value) : applyRules(WIRE_RULES.long, value, report));
    }
    case 'record': {
      const fields = (type.fields ?? []).map((f) => ({ name: f.name, check: wireCheck(f.type) })).filter((f) => f.check !== ALWAYS_SAFE);
      if (fields.length === 0) return ALWAYS_SAFE;
      return (value, report) => {
        let safe = true;
        for (const f of fields) {
          const v = (value as Record<string, unknown>)[f.name];
          if (v === undefined) continue;
          if (report === undefined) {
            if (!f.check(v)) return false;
            continue;
          }
          report.at.push(`.${f.name}`);
          if (!f.check(v, report)) safe = false;
          report.at.pop();
        }
        return safe;
      };
    }
    case 'array': {
      const item = wireCheck(type.itemsType as TypeView);
      if (item === ALWAYS_SAFE) return ALWAYS_SAFE;
      return (value, report) => {
        const items = value as unknown[];
        if (report === undefined) {
          for (let i = 0; i < items.length; i++) if (!item(items[i])) return false;
          return true;
        }
        let safe = true;
        for (let i = 0; i < items.length; i++) {
          report.at.push(`[${i}]`);
          if (!item(items[i], report)) safe = false;
          report.at.pop();
        }
        return safe;
      };
    }
    case 'map': {
      const keyBroken = anyBroken(WIRE_RULES.mapKey);
      const valueCheck = wireCheck(type.valuesType as TypeView);
      return (value, report) => {
        let safe = true;
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
          if (report === undefined) {
            if (keyBroken(k) || !valueCheck(v)) return false;
            continue;
          }
          report.at.push(`[${JSON.stringify(k)}]`);
          if (!applyRules(WIRE_RULES.mapKey, k, report)) safe = false;
          if (!valueCheck(v, report)) safe = false;
          report.at.pop();
        }
        return safe;
      };
    }
    default: {
      if (!type.typeName.startsWith('union')) return ALWAYS_SAFE;
      const branches = (type.types ?? []).map((b) => ({ type: b as unknown as Type, check: wireCheck(b) }));
      if (branches.every((b) => b.check === ALWAYS_SAFE)) return ALWAYS_SAFE;
      // null first: the optional fields' unions (["null", X]) need no isValid call for an absent value
      const nullBranch = branches.find((b) => b.type.typeName === 'null');
      return (value, report) => {
        if (value === null && nullBranch !== undefined) return nullBranch.check(value, report);
        for (let i = 0; i < branches.length; i++) {
          if (branches[i].type.isValid(value)) return branches[i].check(value, report);
        }
        return true;
      };
    }
  }
}
