/**
 * The project's import graph, read from the sources (no dependency beyond
 * Node): every relative import of every TypeScript file under the source
 * folders, with its target resolved to a source path. The dependency test
 * checks its rules on it; run as a program it prints the graph of a folder,
 * as in the README's Layout section:
 *
 *   npm run build && node dist/test/architecture/importGraph.js pipeline
 *
 * prints a Mermaid graph of pipeline/'s subfolders (an arrow per imported
 * folder, labelled with the number of importing files) and the folders
 * outside pipeline/ each subfolder imports. `--files` lists the file-level
 * edges instead.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../../cli/defaults.js';

/** The folders holding the project's TypeScript sources. */
export const SOURCE_DIRS = ['models', 'operators', 'pipeline', 'cli', 'common', 'schemas', 'bench'] as const;

/** Import specifiers of a file: static imports, re-exports and dynamic import(). */
export function importsOf(source: string): string[] {
  const specs: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;
  for (const m of source.matchAll(re)) specs.push(m[1] ?? m[2] ?? m[3]);
  return specs;
}

/** One import of one file. */
export interface ImportEdge {
  /** The importing file, relative to the root, '/'-separated (e.g. `pipeline/stream/worker.ts`). */
  file: string;
  /** The specifier as written. */
  spec: string;
  /** A relative import's target as a source path (`.js` read as `.ts`); undefined for a package. */
  target?: string;
}


function tsFiles(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(tsFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const posix = (p: string): string => p.split(sep).join('/');

/** Every import of every .ts file under `dirs` (relative to `root`), in file order. */
export function importEdges(root: string, dirs: readonly string[] = SOURCE_DIRS): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const dir of dirs) {
    const abs = join(root, dir);
    if (!existsSync(abs)) continue;
    for (const path of tsFiles(abs)) {
      const file = posix(relative(root, path));
      for (const spec of importsOf(readFileSync(path, 'utf8'))) {
        const target = spec.startsWith('.') ? posix(relative(root, resolve(dirname(path), spec))).replace(/\.js$/, '.ts') : undefined;
        edges.push(target === undefined ? { file, spec } : { file, spec, target });
      }
    }
  }
  return edges;
}

/** The folder of `file` one level below `prefix` (`pipeline/kafka` for `pipeline/kafka/source.ts`), else its top folder. */
export function folderOf(file: string, prefix: string): string {
  const parts = file.split('/');
  if (file.startsWith(prefix + '/') && parts.length > 2) return `${prefix}/${parts[1]}`;
  return parts[0];
}

/**
 * The import cycles among `files`: each strongly connected component of
 * more than one file (or a file importing itself), files sorted.
 */
export function importCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const e of edges) {
    if (e.target === undefined) continue;
    if (!next.has(e.file)) next.set(e.file, new Set());
    next.get(e.file)!.add(e.target);
  }
  // Tarjan's algorithm, iterative (deep import chains must not overflow the stack).
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let counter = 0;
  for (const start of next.keys()) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; it: Iterator<string> }> = [];
    const visit = (node: string) => {
      index.set(node, counter);
      low.set(node, counter);
      counter += 1;
      stack.push(node);
      onStack.add(node);
      work.push({ node, it: (next.get(node) ?? new Set<string>()).values() });
    };
    visit(start);
    while (work.length > 0) {
      const top = work[work.length - 1];
      const step = top.it.next();
      if (!step.done) {
        const w = step.value;
        if (!index.has(w)) visit(w);
        else if (onStack.has(w)) low.set(top.node, Math.min(low.get(top.node)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.node)!));
      }
      if (low.get(top.node) === index.get(top.node)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== top.node);
        if (component.length > 1 || next.get(top.node)?.has(top.node)) cycles.push(component.sort());
      }
    }
  }
  return cycles;
}

/**
 * The graph of `prefix`'s subfolders as Mermaid: an arrow from a subfolder
 * to each subfolder it imports, labelled with the number of its files that
 * do, then (as a comment per subfolder) the project folders outside
 * `prefix` it imports. Deterministic: sorted throughout.
 */
export function folderGraphMermaid(edges: readonly ImportEdge[], prefix: string): string {
  const inside = new Map<string, Map<string, Set<string>>>();
  const outside = new Map<string, Set<string>>();
  const folders = new Set<string>();
  for (const e of edges) {
    if (!e.file.startsWith(prefix + '/')) continue;
    const from = folderOf(e.file, prefix);
    folders.add(from);
    if (e.target === undefined) continue;
    const to = folderOf(e.target, prefix);
    if (to === from) continue;
    if (to.startsWith(prefix + '/')) {
      if (!inside.has(from)) inside.set(from, new Map());
      const byTarget = inside.get(from)!;
      if (!byTarget.has(to)) byTarget.set(to, new Set());
      byTarget.get(to)!.add(e.file);
    } else {
      if (!outside.has(from)) outside.set(from, new Set());
      outside.get(from)!.add(to);
    }
  }
  const id = (folder: string) => folder.replace(/[^A-Za-z0-9]/g, '_');
  const lines = ['graph TD'];
  for (const folder of [...folders].sort()) lines.push(`  ${id(folder)}[${folder}]`);
  for (const from of [...inside.keys()].sort()) {
    for (const [to, files] of [...inside.get(from)!].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`  ${id(from)} -->|${files.size}| ${id(to)}`);
    }
  }
  for (const from of [...outside.keys()].sort()) lines.push(`  %% ${from} also imports: ${[...outside.get(from)!].sort().join(', ')}`);
  return lines.join('\n');
}

/** File-level edges between files under `prefix`, one `a -> b` line each, sorted. */
export function fileEdgeLines(edges: readonly ImportEdge[], prefix: string): string[] {
  const lines = new Set<string>();
  for (const e of edges) {
    if (e.target !== undefined && e.file.startsWith(prefix + '/') && e.target.startsWith(prefix + '/')) lines.add(`${e.file} -> ${e.target}`);
  }
  return [...lines].sort();
}

// Run as a program (not when node --test runs every file under dist/test/ as a test).
const asProgram = process.env.NODE_TEST_CONTEXT === undefined && process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1]);
if (asProgram) {
  const args = process.argv.slice(2);
  const prefix = args.find((a) => !a.startsWith('--')) ?? 'pipeline';
  const edges = importEdges(projectRoot());
  if (args.includes('--files')) console.log(fileEdgeLines(edges, prefix).join('\n'));
  else console.log(folderGraphMermaid(edges, prefix));
}
