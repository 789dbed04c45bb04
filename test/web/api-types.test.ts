/**
 * The web client is typed by the server's schemas (web/src/api/types.ts): a
 * field renamed in a CGI's zod schema must fail the type check of the client,
 * not a user's browser. The client is type-checked here with one shared
 * schema edited in memory (nothing on disk changes), and errors must land in
 * web/src where it reads the old field.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/index.js';

const SCHEMAS = join(ROOT, 'cgis', '_shared', 'schemas.ts');

/** Type-checks the web client (from its entry) with `edit` applied to cgis/_shared/schemas.ts; the errors, as `file: message`. */
function checkClient(edit: (source: string) => string): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, 'tsconfig.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  )!;
  const host = ts.createCompilerHost(config.options);
  const read = host.readFile.bind(host);
  host.readFile = (file) => (file === SCHEMAS ? edit(readFileSync(SCHEMAS, 'utf8')) : read(file));
  const program = ts.createProgram([join(ROOT, 'web', 'src', 'main.tsx')], config.options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? d.file.fileName.slice(ROOT.length + 1) : '';
    return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

function rename(source: string, schema: string, from: string, to: string): string {
  const start = source.indexOf(`export const ${schema} = `);
  expect(start, `${schema} in cgis/_shared/schemas.ts`).toBeGreaterThanOrEqual(0);
  const field = source.indexOf(`  ${from}: `, start);
  expect(field, `${schema}.${from}`).toBeGreaterThan(start);
  return `${source.slice(0, field)}  ${to}: ${source.slice(field + from.length + 4)}`;
}

describe('the web client is typed by the CGIs’ schemas', { timeout: 180_000 }, () => {
  it('type-checks as it is', () => {
    expect(checkClient((s) => s)).toEqual([]);
  });

  it.each([
    ['ConversationSchema', 'unread', 'unreadCount'],
    ['ProfileSchema', 'displayName', 'nickname'],
    ['SyncMessageSchema', 'clientMsgId', 'clientMessageId'],
  ])('fails when %s.%s is renamed', (schema, from, to) => {
    const errors = checkClient((s) => rename(s, schema, from, to));
    // The CGIs that return the old shape fail too; what matters is that the client does.
    expect(errors.filter((e) => e.startsWith('web/src/')).length, errors.join('\n')).toBeGreaterThan(0);
  });
});
