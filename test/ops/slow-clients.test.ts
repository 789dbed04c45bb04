/**
 * Slow and idle clients (SPEC §10) against a running host, with real sockets:
 * a head trickled a byte at a time, a connection that never sends a byte, and
 * a body that stalls are each closed after a bounded time; one address cannot
 * hold more than limits.connectionsPerAddress connections; and a slowloris run
 * (2,000 trickling or idle sockets from 20 addresses, reopened as they are
 * closed) does not stop 200 normal requests from being served quickly.
 */
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, PROJECT_CGIS, startHost, waitFor, type RunningHost } from '../helpers/index.js';

let h: RunningHost;
const HEADERS_MS = 3_000;
const BODY_IDLE_MS = 2_000;
const PER_ADDRESS = 120;

beforeAll(async () => {
  h = await startHost({
    cgisDir: PROJECT_CGIS,
    config: {
      watch: false,
      limits: {
        headersTimeoutMs: HEADERS_MS,
        bodyIdleTimeoutMs: BODY_IDLE_MS,
        keepAliveTimeoutMs: 2_000,
        connectionsPerAddress: PER_ADDRESS,
      },
    },
  });
});
afterAll(async () => {
  await h?.stop();
});

interface Probe {
  socket: Socket;
  received: string;
  closedAt?: number;
  closed: Promise<void>;
}

/** A raw connection from loopback address `from`, recording what it receives and when it is closed. */
function open(from = '127.0.0.1'): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: h.port, localAddress: from });
    let done!: () => void;
    const probe: Probe = { socket, received: '', closed: new Promise<void>((r) => (done = r)) };
    socket.setEncoding('utf8');
    socket.on('data', (c) => (probe.received += c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      probe.closedAt = Date.now();
      done();
    });
    socket.once('connect', () => resolve(probe));
    socket.once('error', reject);
  });
}

/** Writes `text` a byte every `everyMs` until the socket closes (or `text` runs out). */
function trickle(p: Probe, text: string, everyMs: number): () => void {
  let i = 0;
  const timer = setInterval(() => {
    if (p.closedAt || i >= text.length) return clearInterval(timer);
    p.socket.write(text[i++]!);
  }, everyMs);
  return () => clearInterval(timer);
}

const HEAD = 'POST /cgi-bin/echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-padding: ' + 'p'.repeat(4000);

describe('slow clients', () => {
  it('closes a trickled head after headersTimeoutMs with 408, and an idle connection that never sends a byte', async () => {
    const started = Date.now();
    const [slow, idle] = await Promise.all([open(), open()]);
    const stop = trickle(slow, HEAD, 100);
    await Promise.all([slow.closed, idle.closed].map((c) => Promise.race([c, new Promise((r) => setTimeout(r, 30_000))])));
    stop();
    expect(slow.closedAt, 'the trickled head was cut off').toBeDefined();
    expect(idle.closedAt, 'the idle connection was closed').toBeDefined();
    expect(slow.received).toMatch(/^HTTP\/1\.1 408/);
    // Bounded: the timeout plus node's checking interval (1 s) plus a loaded machine's slack; never the 10-minute request bound.
    expect(slow.closedAt! - started).toBeGreaterThanOrEqual(HEADERS_MS - 100);
    expect(slow.closedAt! - started).toBeLessThan(HEADERS_MS + 15_000);
    expect(idle.closedAt! - started).toBeLessThan(HEADERS_MS + 15_000);
  });

  it('closes a body that stops arriving after bodyIdleTimeoutMs, while a slow but steady body is received', async () => {
    const body = JSON.stringify({ text: 'x'.repeat(60) });
    const head = `POST /cgi-bin/echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
    const stalled = await open();
    stalled.socket.write(head + body.slice(0, 10));
    const steady = await open();
    steady.socket.write(head);
    // A byte every 50 ms: the whole body takes ~3.5 s, longer than the idle bound, but it never stalls that long.
    const stop = trickle(steady, body, 50);
    const started = Date.now();
    await waitFor(() => stalled.closedAt, BODY_IDLE_MS + 15_000, { what: 'the stalled body to be cut off' });
    expect(stalled.closedAt! - started).toBeGreaterThanOrEqual(BODY_IDLE_MS - 200);
    await waitFor(() => /\r\n\r\n\{"echo":"x+"\}/.test(steady.received), 20_000, { what: 'the steady body to be answered' });
    expect(steady.received).toMatch(/^HTTP\/1\.1 200/);
    stop();
    steady.socket.destroy();
  });

  it('caps the connections one address holds: the next one gets 429 RATE_LIMITED, other addresses are served', async () => {
    const held = await Promise.all(Array.from({ length: PER_ADDRESS }, () => open('127.0.0.50')));
    try {
      const extra = await open('127.0.0.50');
      await waitFor(() => extra.closedAt, 10_000, { what: 'the extra connection to be refused' });
      expect(extra.received).toMatch(/^HTTP\/1\.1 429/);
      expect(extra.received).toContain('"code":"RATE_LIMITED"');
      expect(extra.received).toMatch(/retry-after: 1/);
      const other = await open('127.0.0.51');
      other.socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
      await waitFor(() => other.closedAt, 10_000, { what: 'the other address to be answered' });
      expect(other.received).toMatch(/^HTTP\/1\.1 200/);
    } finally {
      for (const p of held) p.socket.destroy();
    }
    // Closed connections are given back: the address connects again.
    await waitFor(
      async () => {
        const again = await open('127.0.0.50');
        again.socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
        await Promise.race([again.closed, new Promise((r) => setTimeout(r, 5_000))]);
        return /^HTTP\/1\.1 200/.test(again.received);
      },
      15_000,
      { what: 'the address to be let in again', everyMs: 200 },
    );
  });

  it(
    "serves 200 normal requests while 2,000 slow or idle sockets are held (p99 under 1 s, or near the same run's unloaded p99)",
    { timeout: 240_000 },
    async () => {
      const SOCKETS = 2_000;
      /** 200 echo requests, 10 at a time from their own address: the sorted latencies. */
      const measure = async (): Promise<number[]> => {
        const agent = new Agent({ localAddress: '127.0.0.60', connections: 10 });
        const latencies: number[] = [];
        const worker = async (n: number) => {
          for (let i = 0; i < n; i++) {
            const t = performance.now();
            const res = await undiciFetch(`${h.url}/cgi-bin/echo`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ text: `hi ${i}` }),
              dispatcher: agent,
            });
            const body = (await res.json()) as { echo: string };
            expect(res.status).toBe(200);
            expect(body.echo).toBe(`hi ${i}`);
            latencies.push(performance.now() - t);
          }
        };
        await Promise.all(Array.from({ length: 10 }, () => worker(20)));
        await agent.close();
        expect(latencies).toHaveLength(200);
        return latencies.sort((a, b) => a - b);
      };
      const p99 = (l: number[]) => l[Math.ceil(l.length * 0.99) - 1]!;
      // The same requests without the attack first: this machine is shared, and its load is the yardstick.
      const quiet = await measure();

      // The attack runs in a process of its own (as it would on another machine): its 2,000 sockets do not slow this one's client.
      const attacker = spawn(process.execPath, [join(FIXTURES, 'tools', 'slowloris.mjs'), String(h.port), String(SOCKETS), '20', '500'], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      let state = { open: 0, closed: 0 };
      attacker.stdout!.setEncoding('utf8');
      attacker.stdout!.on('data', (c: string) => {
        const all = [...c.matchAll(/open (\d+) closed (\d+)/g)];
        const m = all[all.length - 1];
        if (m) state = { open: Number(m[1]), closed: Number(m[2]) };
      });
      try {
        await waitFor(() => state.open >= SOCKETS * 0.95, 60_000, { what: `${SOCKETS} slowloris sockets open`, everyMs: 100 });
        const heldBefore = state.open;
        const attacked = await measure();
        console.info(
          `slowloris: ${heldBefore} sockets held; p50/p99 ${attacked[99]!.toFixed(1)}/${p99(attacked).toFixed(1)} ms ` +
            `against ${quiet[99]!.toFixed(1)}/${p99(quiet).toFixed(1)} ms without the attack`,
        );
        expect(heldBefore).toBeGreaterThan(SOCKETS * 0.9);
        // The goal is a p99 under 1 s (met on a quiet machine). On one loaded by other work (load averages of 30 on 2 cores
        // were seen) the bound is relative to the same run's p99 without the attack; a starved host fails either way.
        expect(attacked[99]!).toBeLessThan(Math.max(500, 4 * quiet[99]!));
        expect(p99(attacked)).toBeLessThan(Math.max(1_000, 10 * p99(quiet)));
        // Every slowloris socket is closed by the host in bounded time: wait for a full round of closes.
        await waitFor(() => state.closed >= SOCKETS, HEADERS_MS + 60_000, { what: 'the host to close every slow socket', everyMs: 100 });
      } finally {
        attacker.stdin!.end();
        await new Promise((r) => (attacker.exitCode !== null ? r(null) : attacker.once('exit', r)));
      }
    },
  );
});
