/**
 * The short-query index of search. FTS5's trigram tokenizer finds any
 * substring of three or more characters, but nothing shorter; so each text
 * message is also indexed by the distinct characters and pairs of characters
 * it contains, written as ASCII tokens (`u<hex>`, `b<hex>x<hex>`) into a
 * `detail=none` table. A one- or two-character query is then one token: having
 * it is exactly containing the substring, with no scan and no false match.
 */

/** The query lengths (in code points) the short index answers; longer ones go to the trigram index. */
export const SHORT_QUERY_MAX = 2;

/** Code points of `s`, each lower-cased on its own (one code point stays one, so pairs stay pairs). */
export function foldedCodePoints(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) {
    const lower = ch.toLowerCase();
    const cp = lower.codePointAt(0)!;
    // 'İ'.toLowerCase() is two code points: keep such a character as it is.
    out.push(lower.length === String.fromCodePoint(cp).length ? cp : ch.codePointAt(0)!);
  }
  return out;
}

const unigram = (a: number) => `u${a.toString(16)}`;
const bigram = (a: number, b: number) => `b${a.toString(16)}x${b.toString(16)}`;

/** The document of `text` in the short index: its distinct characters and pairs, space-separated. */
export function shortGrams(text: string): string {
  const cps = foldedCodePoints(text);
  const grams = new Set<string>();
  for (let i = 0; i < cps.length; i++) {
    grams.add(unigram(cps[i]!));
    if (i + 1 < cps.length) grams.add(bigram(cps[i]!, cps[i + 1]!));
  }
  return [...grams].join(' ');
}

/** The FTS5 query for a query of 1 or 2 code points. */
export function shortQuery(query: string): string {
  const cps = foldedCodePoints(query);
  if (cps.length === 0 || cps.length > SHORT_QUERY_MAX) throw new Error('a short query has 1 or 2 code points');
  return `"${cps.length === 1 ? unigram(cps[0]!) : bigram(cps[0]!, cps[1]!)}"`;
}

/** The FTS5 query (a phrase) for a query of 3 or more code points, against the trigram index. */
export function trigramQuery(query: string): string {
  return `"${query.replaceAll('"', '""')}"`;
}
