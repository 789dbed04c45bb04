/** `cgihost new <group>/<name>`: a CGI and its test, ready to edit. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CGI_NAME, listServedCgiFiles } from './cgi-files.js';
import { shortPath } from './compile.js';
import { runtimePaths } from './runtime-paths.js';
import { writeEditorConfig } from './editor-config.js';

export function scaffoldCgi(cgisDir: string, spec: string | undefined): number {
  const m = /^([a-z][a-z0-9_-]*)\/([a-z][a-z0-9_]*)$/.exec(spec ?? '');
  if (!m || !CGI_NAME.test(m[2]!)) {
    console.error('usage: cgihost new <group>/<name>   (name: [a-z][a-z0-9_]*)');
    return 2;
  }
  const [, group, name] = m as unknown as [string, string, string];
  const dir = join(cgisDir, group);
  const file = join(dir, `${name}.ts`);
  const test = join(dir, `${name}.test.ts`);
  if (existsSync(file)) {
    console.error(`${file} exists already`);
    return 1;
  }
  // Names are unique across groups: a second CGI of the same name is refused while the first serves.
  const taken = listServedCgiFiles(cgisDir, runtimePaths().builtinCgisDir).find((f) => f.name === name && !f.canary);
  if (taken) {
    console.error(
      `warning: a CGI named "${name}" exists already (${shortPath(taken.file)}): names are unique across groups, so ` +
        `${group}/${name}.ts will be refused while that one serves. Pick another name, or remove the other file.`,
    );
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    file,
    `import { defineCgi, z, CgiError } from 'cgihost';

export default defineCgi({
  apiVersion: 1,
  method: 'POST',
  auth: 'user',
  input: z.object({ text: z.string().min(1).max(100) }),
  output: z.object({ text: z.string(), uid: z.string() }),
  async handler(input, ctx) {
    if (input.text === 'forbidden') throw new CgiError(403, 'FORBIDDEN', 'not allowed');
    return { text: input.text, uid: ctx.uid! };
  },
});
`,
  );
  writeFileSync(
    test,
    `import { describe, expect, it } from 'vitest';
import { loadCgi } from 'cgihost/testing';

describe('${name}', () => {
  it('answers', async () => {
    const cgi = await loadCgi(new URL('./${name}.ts', import.meta.url));
    const res = await cgi.call({ text: 'hi' }, { uid: 'u1' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ text: 'hi', uid: 'u1' });
    await cgi.close();
  });

  it('refuses bad input', async () => {
    const cgi = await loadCgi(new URL('./${name}.ts', import.meta.url));
    const res = await cgi.call({ text: '' }, { uid: 'u1' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_INPUT');
    await cgi.close();
  });
});
`,
  );
  console.log(`created ${file}\ncreated ${test}`);
  const tsconfig = writeEditorConfig(cgisDir);
  if (tsconfig) console.log(`wrote ${tsconfig} (editors show type errors as you type)`);
  return 0;
}
