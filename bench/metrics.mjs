// Metrics must not cost the hot path (issue 6): echo through two hosts, metrics on vs off, alternating rounds (ABBA), same load.
// node bench/metrics.mjs [rounds=8] [seconds=3]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad, pickTool } from './lib/load.mjs';
import { startHost, cpuTimeMs, ROOT } from './lib/servers.mjs';
import { median } from './lib/stats.mjs';
import { sleep } from './lib/client.mjs';
const rounds = Number(process.argv[2] ?? 8),
  durationS = Number(process.argv[3] ?? 3);
const tmp = mkdtempSync(join(tmpdir(), 'mab-'));
const offCfg = join(tmp, 'off.json');
writeFileSync(offCfg, JSON.stringify({ metrics: { enabled: false } }));
const onCfg = join(tmp, 'on.json');
writeFileSync(onCfg, JSON.stringify({ metrics: { enabled: true } }));
const cgisDir = join(ROOT, 'bench', 'fixtures', 'echo-cgis');
const servers = { on: await startHost({ cgisDir, configFile: onCfg }), off: await startHost({ cgisDir, configFile: offCfg }) };
const tool = pickTool();
const run = async (side, s) => {
  const c0 = cpuTimeMs(servers[side].pid);
  const r = await runLoad({
    url: servers[side].url + '/cgi-bin/echo',
    body: { text: 'hello, cgihost' },
    durationS: s,
    connections: 50,
    threads: 1,
    tool,
  });
  const cpu = cpuTimeMs(servers[side].pid) - c0;
  return { ...r, cpuUsPerReq: (cpu * 1000) / r.requests };
};
await run('on', 2);
await run('off', 2);
const rows = [];
for (let i = 1; i <= rounds; i++) {
  for (const side of i % 2 ? ['on', 'off'] : ['off', 'on']) {
    await sleep(300);
    const r = await run(side, durationS);
    rows.push({ side, ...r });
    console.log(
      `round ${i} ${side.padEnd(3)} ${r.rps.toFixed(0).padStart(6)} req/s  p99 ${r.p99} ms  cpu ${r.cpuUsPerReq.toFixed(1)} us/req`,
    );
  }
}
const sum = (side) => ({
  rps: median(rows.filter((r) => r.side === side).map((r) => r.rps)),
  cpu: median(rows.filter((r) => r.side === side).map((r) => r.cpuUsPerReq)),
});
const on = sum('on'),
  off = sum('off');
console.log(
  `median on: ${on.rps.toFixed(0)} req/s, ${on.cpu.toFixed(1)} us/req; off: ${off.rps.toFixed(0)} req/s, ${off.cpu.toFixed(1)} us/req`,
);
console.log(`on/off req/s ${(on.rps / off.rps).toFixed(3)}; cpu/req on/off ${(on.cpu / off.cpu).toFixed(3)}`);
for (const s of Object.values(servers)) await s.stop();
