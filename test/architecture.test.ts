/**
 * The rooms of src/ (docs/ARCHITECTURE.md): value imports between its
 * folders (and its top-level files, each a room of its own) point one way,
 * so they form no cycle. esbuild reads the imports, as the build does: what
 * it drops (`import type`, imports used only as types) costs nothing at run
 * time and is not an arrow here.
 */
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/index.js';

type Graph = Map<string, Set<string>>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** `host/registry.ts` → host; `server.ts` → server. */
function roomOf(srcRelative: string): string {
  const parts = srcRelative.split('/');
  return parts.length > 1 ? parts[0]! : parts[0]!.replace(/\.ts$/, '');
}

/** Room → rooms it imports values from, with one file-level import for each arrow (to name it in a failure). */
async function roomGraph(): Promise<{ graph: Graph; why: Map<string, string> }> {
  const src = join(ROOT, 'src');
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: sourceFiles(src),
    bundle: true,
    write: false,
    outdir: join(ROOT, 'node_modules', '.cache', 'architecture-test'),
    platform: 'node',
    format: 'esm',
    packages: 'external',
    metafile: true,
    logLevel: 'silent',
  });
  const graph: Graph = new Map();
  const why = new Map<string, string>();
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    const from = relative(src, join(ROOT, file));
    if (from.startsWith('..')) continue;
    for (const imp of input.imports) {
      if (imp.external) continue;
      const to = relative(src, join(ROOT, imp.path));
      if (to.startsWith('..')) continue;
      const a = roomOf(from);
      const b = roomOf(to);
      if (a === b) continue;
      if (!graph.has(a)) graph.set(a, new Set());
      graph.get(a)!.add(b);
      if (!why.has(`${a}>${b}`)) why.set(`${a}>${b}`, `${from} → ${to}`);
    }
  }
  return { graph, why };
}

/** Every elementary cycle, each once, as its rooms starting from the smallest name. */
function cycles(graph: Graph): string[][] {
  const nodes = [...new Set([...graph.keys(), ...[...graph.values()].flatMap((s) => [...s])])].sort();
  const found: string[][] = [];
  for (const start of nodes) {
    // Only cycles whose smallest room is `start`: each cycle is found from one place.
    const walk = (node: string, path: string[]) => {
      for (const next of graph.get(node) ?? []) {
        if (next === start) found.push([...path]);
        else if (next > start && !path.includes(next)) walk(next, [...path, next]);
      }
    };
    walk(start, [start]);
  }
  return found;
}

describe('the rooms of src/', () => {
  it('finds cycles, and only cycles, in a graph (so the check below can fail)', () => {
    const g: Graph = new Map([
      ['http', new Set(['host'])],
      ['host', new Set(['worker', 'http'])],
      ['worker', new Set(['errors'])],
      ['store', new Set(['queue'])],
      ['queue', new Set(['store', 'worker'])],
    ]);
    expect(cycles(g)).toEqual([
      ['host', 'http'],
      ['queue', 'store'],
    ]);
  });

  it('value imports between the rooms form no cycle', async () => {
    const { graph, why } = await roomGraph();
    // The rooms the build sees: if these are missing, the graph was not read.
    const rooms = new Set([...graph.keys(), ...[...graph.values()].flatMap((s) => [...s])]);
    for (const room of ['host', 'http', 'worker', 'store', 'ports', 'monitor', 'server', 'errors', 'log'])
      expect([...rooms]).toContain(room);
    const found = cycles(graph).map((c) =>
      [...c, c[0]!].map((room, i, all) => (i === 0 ? room : `${room} (${why.get(`${all[i - 1]}>${room}`)})`)).join(' → '),
    );
    expect(found).toEqual([]);
  });
});
