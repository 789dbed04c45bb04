/**
 * The JSON log line is built by splicing the fields' JSON after the record's
 * own keys (the access log writes one per request); it must be the very text
 * that stringifying `{time, level, msg, ...fields}` gives, whatever a CGI
 * hands `ctx.log` as fields.
 */
import { expect, it } from 'vitest';
import { createLogger, jsonLine } from '../../src/log.js';

const TIME = '2026-12-03T07:30:00.123Z';

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

const cases: Array<[string, unknown]> = [
  ['none', undefined],
  ['empty', {}],
  ['an access line', { method: 'POST', path: '/cgi-bin/echo', status: 200, ms: 0.53, requestId: 'r-1', cgi: 'echo', uid: undefined }],
  ['only undefined values', { a: undefined, b: undefined }],
  ['quotes, newlines and non-ASCII', { error: 'line 1\n"line 2"\t\u2028 café 😀', path: '\\x' }],
  ['nested', { user: { uid: 'u1', tags: ['a', 'b'] }, n: null, ok: true }],
  ['a field named msg', { msg: 'theirs', other: 1 }],
  ['fields named time and level', { time: 'then', level: 'loud' }],
  ['an array', ['a', 'b']],
  ['an Error', new Error('boom')],
  ['a class instance', new Point(1, 2)],
  ['a toJSON of its own', { toJSON: () => 'replaced', a: 1 }],
  ['a null prototype', Object.assign(Object.create(null), { a: 1, b: 'two' })],
];

it.each(cases)('writes the same text as the spread object for %s', (_name, fields) => {
  const expected = JSON.stringify({ time: TIME, level: 'info', msg: 'a "quoted" message', ...(fields as object) });
  const got = jsonLine(TIME, 'info', 'a "quoted" message', fields as Record<string, unknown>);
  expect(got).toBe(expected);
  expect(() => JSON.parse(got)).not.toThrow();
});

it('stamps each line with the current time, to the millisecond', async () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) });
  log.info('first');
  await new Promise((r) => setTimeout(r, 5));
  log.info('second', { n: 2 });
  const [a, b] = lines.map((l) => JSON.parse(l) as { time: string; msg: string; n?: number });
  expect(a!.msg).toBe('first');
  expect(b).toMatchObject({ msg: 'second', n: 2 });
  expect(Date.parse(b!.time) - Date.parse(a!.time)).toBeGreaterThanOrEqual(4);
  expect(Math.abs(Date.parse(b!.time) - Date.now())).toBeLessThan(1_000);
});
