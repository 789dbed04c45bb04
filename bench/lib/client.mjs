// One-off requests for sanity checks and polling (not for load: see load.mjs).
export async function postJson(url, body, { headers = {}, timeoutMs = 5_000 } = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
