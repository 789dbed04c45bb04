/** Tiny CGIs written inline for the monitor suites. */

const cgi = (handler: string, input = 'z.object({})') => `import { defineCgi, z } from 'cgihost';
export default defineCgi({
  apiVersion: 1,
  auth: 'none',
  input: ${input},
  output: z.object({}).passthrough(),
  handler: ${handler},
});
`;

/** group/name.ts -> source. */
export const CGIS = {
  /** Answers 200. */
  'demo/ok.ts': cgi(`(input) => ({ echo: input.text })`, 'z.object({ text: z.string() })'),
  /** Throws a plain Error: 500 INTERNAL, logged as the CGI's fault. */
  'demo/fail.ts': cgi(`() => { throw new Error('kaboom in fail'); }`),
  /** Ends its worker's thread from inside the handler: 502 CGI_CRASHED, a restart with reason "exit". */
  'demo/crash.ts': cgi(`() => { process.exit(7); }`),
};
