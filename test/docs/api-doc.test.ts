/**
 * docs/api.md cannot rot: every `sh` block is run, in order, in one bash
 * session against a fresh host (its `localhost:8080` pointed at the test
 * host's port), and the answer each prints is compared with the `json` or
 * `text` block shown under it: the same shape (keys and types, ids and times
 * may differ), and the same values for the fields a reader relies on (error
 * codes, types, kinds, flags, texts).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT, startHost, tempDir, type RunningHost } from '../helpers/index.js';

const DOC = join(ROOT, 'docs/api.md');
/** Values compared exactly; the rest by type. */
const EXACT = new Set(['code', 'type', 'kind', 'contentType', 'continueFlag', 'echo', 'content', 'name', 'lastSeq', 'size']);

interface Example {
  line: number;
  sh: string;
  expect?: { lang: 'json' | 'text'; body: string };
}

function examples(markdown: string): Example[] {
  const blocks: Array<{ lang: string; body: string; line: number; end: number }> = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    while (++i < lines.length && lines[i] !== '```') body.push(lines[i]!);
    blocks.push({ lang: open[1]!, body: body.join('\n'), line: start + 1, end: i });
  }
  const out: Example[] = [];
  blocks.forEach((b, k) => {
    if (b.lang !== 'sh') return;
    const next = blocks[k + 1];
    // The answer is the block right under the command (only blank lines between).
    const adjacent = next && lines.slice(b.end + 1, next.line - 1).every((l) => l.trim() === '');
    const expect = adjacent && (next.lang === 'json' || next.lang === 'text') ? { lang: next.lang, body: next.body } : undefined;
    out.push({ line: b.line, sh: b.body, expect: expect as Example['expect'] });
  });
  return out;
}

/** Differences between an answer and the doc's example of it (empty: it matches). */
function differences(actual: unknown, shown: unknown, path = '$'): string[] {
  if (shown === null || typeof shown !== 'object') {
    const key = path.slice(path.lastIndexOf('.') + 1);
    if (typeof actual !== typeof shown) return [`${path}: ${JSON.stringify(actual)} is not a ${typeof shown}`];
    if (EXACT.has(key) && actual !== shown) return [`${path}: ${JSON.stringify(actual)}, the doc says ${JSON.stringify(shown)}`];
    return [];
  }
  if (Array.isArray(shown)) {
    if (!Array.isArray(actual)) return [`${path}: not an array`];
    if (shown.length > 0 && actual.length === 0) return [`${path}: empty, the doc shows entries`];
    if (shown.length === 0 && actual.length > 0) return [`${path}: has entries, the doc shows none`];
    return shown.length ? differences(actual[0], shown[0], `${path}[0]`) : [];
  }
  if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return [`${path}: not an object`];
  const a = actual as Record<string, unknown>;
  const s = shown as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(s)]);
  const out: string[] = [];
  for (const k of keys) {
    // zod's issue objects carry fields that differ by rule; the doc shows one.
    if (path.includes('.details[')) continue;
    if (!(k in s)) out.push(`${path}.${k}: in the answer, not in the doc`);
    else if (!(k in a)) out.push(`${path}.${k}: in the doc, not in the answer`);
    else out.push(...differences(a[k], s[k], `${path}.${k}`));
  }
  return out;
}

let host: RunningHost;
beforeAll(async () => {
  host = await startHost({ cgisDir: join(ROOT, 'cgis'), config: { watch: false } });
});
afterAll(async () => {
  await host?.stop();
});

it('every sh example of docs/api.md runs as pasted and answers what the doc shows', async () => {
  const all = examples(readFileSync(DOC, 'utf8'));
  expect(all.length).toBeGreaterThan(20);
  const mark = (i: number) => `@@example ${i} done@@`;
  const script = all.map((e, i) => `${e.sh.replaceAll('localhost:8080', `127.0.0.1:${host.port}`)}\necho; echo '${mark(i)}'`).join('\n');
  const cwd = tempDir('cgihost-doc-');
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const p = spawn('bash', ['-e', '-u', '-o', 'pipefail', '-c', script], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (c) => (out += c));
    p.stderr.on('data', (c) => (err += c));
    p.on('exit', (c) => resolve({ code: c, stdout: out, stderr: err }));
  });
  const problems: string[] = [];
  let rest = stdout;
  all.forEach((e, i) => {
    const at = rest.indexOf(mark(i));
    if (at < 0) {
      problems.push(`docs/api.md:${e.line}: did not run to its end`);
      return;
    }
    const printed = rest.slice(0, at).trim();
    if (process.env.DOC_PRINT) console.log(`@${e.line}: ${printed}`);
    rest = rest.slice(at + mark(i).length);
    if (!e.expect) return;
    if (e.expect.lang === 'text') {
      if (printed !== e.expect.body.trim()) problems.push(`docs/api.md:${e.line}: printed\n${printed}\nthe doc shows\n${e.expect.body}`);
      return;
    }
    let actual: unknown;
    try {
      actual = JSON.parse(printed);
    } catch {
      problems.push(`docs/api.md:${e.line}: printed no JSON: ${printed.slice(0, 300)}`);
      return;
    }
    const diff = differences(actual, JSON.parse(e.expect.body));
    if (diff.length) problems.push(`docs/api.md:${e.line}: ${diff.join('; ')}\n  answer: ${printed.slice(0, 400)}`);
  });
  expect({ exit: code, stderr: stderr.trim(), problems }).toEqual({ exit: 0, stderr: '', problems: [] });
}, 120_000);
