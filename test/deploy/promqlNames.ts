/**
 * Metric names used by PromQL expressions, and the expressions of the deploy
 * kit's alert rules and Grafana dashboard, for the tests that check them
 * against what the worker exports.
 *
 * The name extraction is a small lexer, enough for the queries written here:
 * string literals, label matchers `{...}`, ranges `[...]` and grouping
 * clauses (`by (...)`, `on (...)`, ...) are removed; what is left that looks
 * like an identifier, is not a keyword and is not called like a function is
 * a metric name.
 */
import { readFileSync } from 'node:fs';

const KEYWORDS = new Set(['and', 'or', 'unless', 'offset', 'bool', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan', 'atan2']);

/** The metric names an expression selects (a bare name or a name before `{`). */
export function promqlMetricNames(expr: string): Set<string> {
  let text = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  text = text.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ');
  const names = new Set<string>();
  for (const m of text.matchAll(/(?<![\w.$])[a-zA-Z_:][\w:]*/g)) {
    const after = text.slice(m.index! + m[0].length).trimStart();
    if (after.startsWith('(')) continue; // a function or an aggregation
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return names;
}

/** One PromQL expression and where it was found. */
export interface Query {
  where: string;
  expr: string;
}

/**
 * The `expr:` values of a Prometheus rule file, single-line or block scalars
 * (`expr: |`), the way deploy/prometheus/alerts.yml writes them. Each has the
 * name of the alert before it.
 */
export function ruleQueries(path: string): Query[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: Query[] = [];
  let alert = '?';
  for (let i = 0; i < lines.length; i++) {
    const a = /^\s*- alert:\s*(\S+)/.exec(lines[i]);
    if (a) alert = a[1];
    const m = /^(\s*)expr:\s*(.*)$/.exec(lines[i]);
    if (!m) continue;
    let expr = m[2].trim();
    if (expr === '|' || expr === '>' || expr === '|-' || expr === '>-') {
      const body: string[] = [];
      while (i + 1 < lines.length && (lines[i + 1].trim() === '' || lines[i + 1].search(/\S/) > m[1].length)) body.push(lines[++i].trim());
      expr = body.join('\n').trim();
    }
    out.push({ where: `${path}: ${alert}`, expr });
  }
  return out;
}

interface Panel {
  title?: string;
  panels?: Panel[];
  targets?: { expr?: string }[];
}

/** The queries of a Grafana dashboard: every panel target's expr, and the selectors of its label_values() variables. */
export function dashboardQueries(dashboard: { panels?: Panel[]; templating?: { list?: { name: string; query?: unknown }[] } }, where = 'dashboard'): Query[] {
  const out: Query[] = [];
  const walk = (panels: Panel[] = []): void => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (typeof t.expr === 'string') out.push({ where: `${where}: panel "${p.title}"`, expr: t.expr });
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
    if (typeof q !== 'string') continue;
    const lv = /^label_values\((.*),\s*\w+\)$/.exec(q.trim());
    if (lv) out.push({ where: `${where}: variable ${v.name}`, expr: lv[1] });
    else if (!/^label_values\(\w+\)$/.test(q.trim()) && !/^prometheus$/.test(q.trim())) out.push({ where: `${where}: variable ${v.name}`, expr: q });
  }
  return out;
}

/** Names used by `queries` that are not in `known`, as "name (where)" lines. */
export function unknownNames(queries: readonly Query[], known: ReadonlySet<string>): string[] {
  const bad: string[] = [];
  for (const q of queries) for (const n of promqlMetricNames(q.expr)) if (!known.has(n)) bad.push(`${n} (${q.where})`);
  return bad;
}
