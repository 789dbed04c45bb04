/**
 * One Int32 slot over a SharedArrayBuffer: one thread bumps it (Atomics.add)
 * after a change is committed and before it answers, and readers in other
 * threads drop what they cached from before it whenever it moved. The store
 * thread keeps two: session revocations (the token caches) and recalls (the
 * message rows a CGI worker's sync keeps).
 */
export function sharedCounter(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4));
}
