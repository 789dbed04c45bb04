import { defineCgi, z } from 'cgihost';

/** The first CGI to call after `npm start`: curl -d '{"text":"hi"}' localhost:8080/cgi-bin/echo */
export default defineCgi({
  apiVersion: 1,
  auth: 'none',
  input: z.object({ text: z.string().max(100) }),
  output: z.object({ echo: z.string() }),
  handler: (input) => ({ echo: input.text }),
});
