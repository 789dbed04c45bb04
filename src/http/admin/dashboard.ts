/**
 * GET /_host/: the dashboard, one self-contained page (inline CSS and JS,
 * nothing loaded from elsewhere) that polls the admin API every 2 s.
 *
 * With an admin token configured, a browser reaches it signed in (the cookie
 * of admin-auth.ts, set by the sign-in page of sign-in.ts), and its API calls
 * carry that cookie; a proxy that adds the Bearer header works as well.
 */
export const DASHBOARD_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cgihost</title>
<style>
:root{--bg:#0d1117;--panel:#161b22;--line:#30363d;--text:#e6edf3;--muted:#8b949e;--green:#3fb950;--amber:#d29922;--orange:#f0883e;--red:#f85149;--blue:#58a6ff;--purple:#bc8cff}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--text);font:13px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{display:flex;flex-wrap:wrap;align-items:center;gap:6px 16px;padding:12px 20px;border-bottom:1px solid var(--line);background:#010409;position:sticky;top:0;z-index:2}
header h1{font-size:16px;margin:0;letter-spacing:.5px}
header h1 span{color:var(--blue)}
.meta{color:var(--muted);font-size:12px}
.grow{flex:1}
.live{display:inline-flex;align-items:center;gap:6px;color:var(--muted);font-size:12px}
.live i{width:8px;height:8px;border-radius:50%;background:var(--muted)}
.live.ok i{background:var(--green);box-shadow:0 0 6px var(--green)}
.live.bad i{background:var(--red)}
main{padding:16px 20px;display:grid;gap:16px;grid-template-columns:minmax(0,1fr)}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:12px}
.kpi svg.spark{width:100%}
.scroll{overflow-x:auto}
.kpi,.panel{background:var(--panel);border:1px solid var(--line);border-radius:8px}
.kpi{padding:10px 12px}
.kpi .label{color:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.6px}
.kpi .value{font-size:22px;font-weight:600;font-variant-numeric:tabular-nums;margin:2px 0}
.kpi.warn .value{color:var(--amber)}.kpi.bad .value{color:var(--red)}
.panel h2{font-size:12px;margin:0;padding:10px 12px;border-bottom:1px solid var(--line);color:var(--muted);text-transform:uppercase;letter-spacing:.6px;display:flex;gap:8px}
.panel h2 .count{color:var(--text)}
.cols{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:16px}
@media (max-width:1100px){.cols{grid-template-columns:minmax(0,1fr)}}
table{width:100%;border-collapse:collapse}
th{font-weight:500;color:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.5px;text-align:left;padding:8px 10px;border-bottom:1px solid var(--line);white-space:nowrap}
td{padding:7px 10px;border-bottom:1px solid #21262d;vertical-align:middle}
tr:last-child td{border-bottom:0}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.cell{display:flex;align-items:center;justify-content:flex-end;gap:8px}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.sub{color:var(--muted);font-size:11px}
.path{max-width:230px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.who .line{display:flex;align-items:center;max-width:250px}
.who .name{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.who .dot{flex:none}
.name{font-weight:600}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:8px;vertical-align:1px}
.st-ready .dot{background:var(--green)}
.st-loading .dot{background:var(--amber)}
.st-failed .dot{background:var(--orange)}
.st-quarantined .dot{background:var(--red);animation:pulse 1s infinite alternate}
.st-quarantined td{background:rgba(248,81,73,.07)}
.st-failed td{background:rgba(240,136,62,.06)}
@keyframes pulse{from{opacity:1}to{opacity:.35}}
.state{font-size:11px;text-transform:uppercase;letter-spacing:.5px}
.st-ready .state{color:var(--green)}.st-loading .state{color:var(--amber)}.st-failed .state{color:var(--orange)}.st-quarantined .state{color:var(--red)}
.badge{display:inline-block;padding:0 6px;border-radius:10px;font-size:11px;border:1px solid var(--line);color:var(--muted);margin:1px 4px 1px 0;white-space:nowrap}
.badge.canary{color:var(--purple);border-color:rgba(188,140,255,.5)}
.badge.err{color:var(--red);border-color:rgba(248,81,73,.45)}
.badge.ok{color:var(--green);border-color:rgba(63,185,80,.45)}
.errtext{color:var(--red);max-width:220px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.hot{color:var(--red)}
.list{max-height:320px;overflow:auto}
.item{padding:7px 12px;border-bottom:1px solid #21262d;display:grid;grid-template-columns:70px minmax(0,1fr);gap:8px}
.item .badge{max-width:100%;overflow:hidden;text-overflow:ellipsis;vertical-align:bottom}
.item:last-child{border-bottom:0}
.item .when{color:var(--muted);font-variant-numeric:tabular-nums}
.item .msg{overflow-wrap:anywhere}
.empty{color:var(--muted);padding:12px;text-align:center}
svg.spark{display:block;flex:none}
@media (max-width:720px){
  header{padding:10px 14px}
  header .meta{order:5;width:100%}
  main{padding:12px 14px;gap:12px}
  .kpis{grid-template-columns:repeat(2,minmax(0,1fr));gap:8px}
  .kpi .value{font-size:18px}
  /* One card per CGI: the numbers under their names, without sparklines. */
  #cgis thead{display:none}
  #cgis tbody tr{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:6px 10px;padding:10px 12px;border-bottom:1px solid #21262d}
  #cgis tbody tr:last-child{border-bottom:0}
  #cgis td{display:block;border:0;padding:0;text-align:left}
  #cgis td.who,#cgis td.lasterr{grid-column:1/-1}
  #cgis td.version,#cgis td.lasterr.none{display:none}
  .who .line{max-width:none}
  #cgis td[data-label]::before{content:attr(data-label);display:block;color:var(--muted);font-size:10px;text-transform:uppercase;letter-spacing:.5px}
  #cgis .cell{justify-content:flex-start}
  #cgis svg.spark,#queues svg.spark{display:none}
  .st-quarantined{background:rgba(248,81,73,.07)}.st-failed{background:rgba(240,136,62,.06)}
  .path,.errtext{max-width:none}
  th,td{padding:6px 8px}
}
#auth{display:none;gap:8px;align-items:center;padding:10px 20px;background:#3d1d1f;border-bottom:1px solid var(--red)}
#auth.show{display:flex}
#auth a{color:var(--blue)}
#signout{display:none;margin:0}
#signout.show{display:block}
#signout button{background:none;border:1px solid var(--line);color:var(--muted);border-radius:6px;padding:3px 10px;font:inherit;font-size:12px;cursor:pointer}
#signout button:hover{color:var(--text);border-color:var(--muted)}
</style>
</head>
<body>
<header>
  <h1><span>cgi</span>host</h1>
  <div class="meta" id="hostmeta">connecting…</div>
  <div class="grow"></div>
  <div class="live" id="live"><i></i><span>…</span></div>
  <form id="signout" method="post" action="/_host/logout"><button type="submit">Sign out</button></form>
</header>
<div id="auth" role="alert"><span>This browser is no longer signed in (the session expired, or the admin token changed).</span><a href="/_host/">Sign in again</a></div>
<main>
  <section class="kpis" id="kpis"></section>
  <section class="panel"><h2>CGIs <span class="count" id="cgicount"></span></h2>
    <div class="scroll"><table id="cgis"><thead><tr>
      <th>CGI</th><th>state</th><th>version</th><th class="num">req/s</th><th class="num">errors</th><th class="num">p50 / p99</th>
      <th class="num">requests</th><th class="num">in flight</th><th class="num">restarts</th><th>last error</th>
    </tr></thead><tbody></tbody></table></div>
  </section>
  <div class="cols">
    <section class="panel"><h2>Queues</h2>
      <div class="scroll"><table id="queues"><thead><tr><th>topic</th><th class="num">depth</th><th class="num">lag</th><th class="num">retries</th><th class="num">dead letters</th></tr></thead><tbody></tbody></table></div>
    </section>
    <section class="panel"><h2>Alerts <span class="count" id="alertcount"></span></h2><div class="list" id="alerts"></div></section>
  </div>
  <section class="panel"><h2>Recent errors</h2><div class="list" id="errors"></div></section>
</main>
<script>
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  // Signed in already (the sign-in page sent us here): a token left in the address is not needed.
  if (/(?:^#|&)token=/.test(location.hash)) history.replaceState(null, '', location.pathname + location.search);

  async function api(path) {
    const r = await fetch(path, { cache: 'no-store' });
    if (r.status === 401) throw Object.assign(new Error('signed out'), { auth: true });
    if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
    return r.json();
  }

  const esc = (s) => String(s == null ? '' : s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const num = (n) => n == null ? '–' : n >= 1e6 ? (n / 1e6).toFixed(1) + 'M' : n >= 1e4 ? (n / 1e3).toFixed(1) + 'k' : String(Math.round(n));
  const rate = (n) => n == null ? '–' : n === 0 ? '0' : n < 10 ? n.toFixed(1) : num(n);
  const pct = (n) => n == null ? '–' : (n * 100).toFixed(n > 0 && n < 0.1 ? 2 : 1) + '%';
  const ms = (n) => n == null ? '–' : n < 1 ? n.toFixed(2) : n < 10 ? n.toFixed(1) : n < 10000 ? String(Math.round(n)) : (n / 1000).toFixed(1) + 's';
  const mb = (b) => (b / 1048576).toFixed(0) + ' MB';
  const ago = (t) => { const s = Math.max(0, Math.round((Date.now() - t) / 1000)); return s < 60 ? s + 's ago' : s < 3600 ? Math.floor(s / 60) + 'm ago' : Math.floor(s / 3600) + 'h ago'; };
  // The last two parts of a path: group/name.ts, wherever the cgis folder is.
  const tail = (p) => String(p || '').split('/').slice(-2).join('/');
  const clock = (t) => new Date(t).toLocaleTimeString([], { hour12: false });
  const dur = (s) => s < 60 ? s + 's' : s < 3600 ? Math.floor(s / 60) + 'm ' + (s % 60) + 's' : Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';

  /**
   * An inline SVG sparkline; nulls are gaps, or with o.connect (latencies and error rates, which have no
   * value when there were no requests) skipped over, so sparse traffic still draws a line, not dots.
   */
  function spark(values, color, opts) {
    const o = opts || {};
    const w = o.w || 64, h = o.h || 24;
    let vs = (values || []).slice(-(o.points || 60));
    if (o.connect) {
      const known = vs.map((v, i) => [i, v]).filter((p) => p[1] != null);
      if (known.length === 1) vs = vs.map(() => known[0][1]);
      else vs = vs.map((v, i) => { if (v != null) return v; const a = known.filter((p) => p[0] < i).pop(), b = known.find((p) => p[0] > i); return a && b ? a[1] + ((b[1] - a[1]) * (i - a[0])) / (b[0] - a[0]) : null; });
    }
    // One point is a level, not a dot.
    if (vs.length === 1) vs = [vs[0], vs[0]];
    const max = Math.max(o.min || 0, ...vs.filter((v) => v != null));
    if (!vs.length) return '<svg class="spark" width="' + w + '" height="' + h + '"></svg>';
    const step = vs.length > 1 ? w / (vs.length - 1) : w;
    const y = (v) => (h - 2 - (max > 0 ? (v / max) * (h - 4) : 0)).toFixed(1);
    let line = '', area = '', pen = false, first = 0, last = null;
    vs.forEach((v, i) => {
      const x = (i * step).toFixed(1);
      if (v == null) { if (pen) area += 'L' + ((i - 1) * step).toFixed(1) + ',' + h + 'L' + first + ',' + h + 'Z'; pen = false; return; }
      if (!pen) { line += 'M' + x + ',' + y(v); area += 'M' + x + ',' + h + 'L' + x + ',' + y(v); first = x; pen = true; }
      else { line += 'L' + x + ',' + y(v); area += 'L' + x + ',' + y(v); }
      last = [x, y(v)];
    });
    if (pen) area += 'L' + ((vs.length - 1) * step).toFixed(1) + ',' + h + 'L' + first + ',' + h + 'Z';
    return '<svg class="spark" width="' + w + '" height="' + h + '" viewBox="0 0 ' + w + ' ' + h + '" preserveAspectRatio="none">' +
      // A line drawn across gaps is not a measured area: no fill under it.
      (o.connect ? '' : '<path d="' + area + '" fill="' + color + '" fill-opacity=".15"/>') +
      '<path d="' + line + '" fill="none" stroke="' + color + '" stroke-width="1.5" stroke-linejoin="round"/>' +
      (last ? '<circle cx="' + last[0] + '" cy="' + last[1] + '" r="2" fill="' + color + '"/>' : '') + '</svg>';
  }

  function kpi(label, value, sparkSvg, cls, id, extra) {
    return '<div class="kpi ' + (cls || '') + '"' + (id ? ' id="' + id + '"' : '') + '><div class="label">' + esc(label) + '</div><div class="value">' + value + '</div>' + (sparkSvg || '') + (extra || '') + '</div>';
  }
  const last = (vs) => { for (let i = (vs || []).length - 1; i >= 0; i--) if (vs[i] != null) return vs[i]; return null; };

  function renderHeader(ov) {
    const h = ov.host;
    $('signout').classList.toggle('show', !!h.adminToken);
    $('hostmeta').textContent = h.hostname + ' · pid ' + h.pid + ' · node ' + h.node + ' · up ' + dur(h.uptimeSeconds) + (h.metricsEnabled ? '' : ' · request metrics off');
    document.title = (ov.alerts.active.length ? '(' + ov.alerts.active.length + ') ' : '') + 'cgihost · ' + h.hostname;
  }

  function renderKpis(ov, se) {
    const h = ov.host, s = ov.store, hs = se.host || {};
    let totalRps = 0, req = 0, err = 0;
    for (const k in ov.live.cgis) { const l = ov.live.cgis[k]; totalRps += l.rps; req += l.requests; err += l.errors5xx; }
    const errRate = req ? err / req : 0;
    const lags = Object.values(s.queueLagSeconds || {});
    const maxLag = lags.length ? Math.max(...lags) : 0;
    const depth = Object.values(s.queueDepth || {}).reduce((a, b) => a + b, 0);
    const sentBy = s.messagesSent || {};
    const sent = Object.values(sentBy).reduce((a, b) => a + b, 0);
    const byType = Object.entries(sentBy).filter((e) => e[1] > 0).sort((a, b) => b[1] - a[1]).map((e) => esc(e[0]) + ' ' + num(e[1])).join(' · ');
    const errSeries = (hs.rps || []).map((_, i) => { let e = 0, r = 0; for (const k in se.cgis) { const c = se.cgis[k]; const rr = (c.rps || [])[i] || 0; r += rr; e += rr * ((c.errorRate || [])[i] || 0); } return r ? e / r : 0; });
    $('kpis').innerHTML =
      kpi('requests / s', rate(totalRps), spark(hs.rps, '#58a6ff', { w: 166, h: 28 })) +
      kpi('5xx rate', pct(errRate), spark(errSeries, '#f85149', { w: 166, h: 28 }), errRate > 0.05 ? 'bad' : errRate > 0 ? 'warn' : '') +
      kpi('CGIs ready', h.cgis.ready + ' / ' + h.cgis.total, '<div class="sub">' + (h.cgis.quarantined ? '<span class="hot">' + h.cgis.quarantined + ' quarantined</span> · ' : '') + (h.cgis.failed ? h.cgis.failed + ' failed · ' : '') + h.cgis.refused + ' refused files</div>', h.cgis.quarantined ? 'bad' : h.cgis.failed ? 'warn' : '') +
      kpi('alerts firing', String(ov.alerts.active.length), '<div class="sub">' + ov.alerts.rules + ' rules</div>', ov.alerts.active.length ? 'bad' : '') +
      kpi('queue depth · max lag', num(depth) + ' · ' + maxLag.toFixed(1) + 's', '<div class="sub">' + (s.ok ? 'store ok' : '<span class="hot">store: ' + esc(s.error || 'no answer') + '</span>') + '</div>', maxLag > 10 ? 'warn' : '') +
      kpi('sync waiters', num(s.syncWaiters), spark(hs.syncWaiters, '#bc8cff', { w: 166, h: 28 })) +
      kpi('messages sent', num(sent), spark(hs.messagesPerSec, '#3fb950', { w: 166, h: 28 }), '', 'kpi-messages', '<div class="sub">' + (byType || 'none yet') + '</div>') +
      kpi('inbox entries', num(s.inboxEntriesWritten || 0), spark(hs.inboxEntriesPerSec, '#58a6ff', { w: 166, h: 28 }), '', 'kpi-inbox', '<div class="sub">' + rate(last(hs.inboxEntriesPerSec)) + ' / s · ' + num(s.commits || 0) + ' commits</div>') +
      kpi('main loop busy', pct(h.eventLoopUtilization), spark(hs.elu, '#d29922', { w: 166, h: 28, min: 0.05 })) +
      kpi('memory (rss)', mb(h.memory.rss), spark(hs.rssMb, '#3fb950', { w: 166, h: 28 }));
  }

  function renderCgis(data, ov, se) {
    const rows = data.cgis.map((c) => {
      const l = ov.live.cgis[c.name] || {};
      const s = se.cgis[c.name] || {};
      const codes = Object.entries(c.errors || {}).sort((a, b) => b[1] - a[1]).slice(0, 3)
        .map(([k, v]) => '<span class="badge err">' + esc(k) + ' ×' + num(v) + '</span>').join('');
      const le = c.lastError ? '<div class="errtext" title="' + esc(c.lastError.message) + '">' + esc(c.lastError.file + (c.lastError.line ? ':' + c.lastError.line : '')) + ' — ' + esc(c.lastError.message) + '</div>' : '';
      const te = c.typeErrors || [];
      const types = te.length ? '<span class="badge err" title="' + esc(te.map((i) => i.file + ':' + i.line + ':' + i.column + ' TS' + i.code + ': ' + i.message).join('\n')) + '">type errors ×' + te.length + '</span>' : '';
      const canary = c.canaryVersion ? '<span class="badge canary">canary ' + esc(c.canaryPercent) + '% · ' + esc(c.canaryVersion) + '</span>' : '';
      return '<tr data-cgi="' + esc(c.name) + '" class="st-' + esc(c.state) + '">' +
        '<td class="who"><div class="line"><span class="dot"></span><span class="name" title="' + esc(c.name) + '">' + esc(c.name) + '</span></div><div class="sub path" title="' + esc(c.file) + '">' + esc(c.group) + ' · ' + esc(tail(c.file)) + '</div></td>' +
        '<td class="state" data-field="state" data-label="state">' + esc(c.state) + '</td>' +
        '<td class="mono version" data-label="version">' + esc(c.version || '–') + '<div>' + canary + '</div></td>' +
        '<td class="num" data-field="rps" data-label="req/s"><div class="cell">' + spark(s.rps, '#58a6ff') + '<span>' + rate(l.rps) + '</span></div></td>' +
        '<td class="num" data-field="errorRate" data-label="5xx"><div class="cell">' + spark(s.errorRate, '#f85149', { min: 0.01, connect: true }) + '<span class="' + (l.errorRate > 0 ? 'hot' : '') + '">' + pct(l.errorRate) + '</span></div></td>' +
        '<td class="num" data-field="latency" data-label="p50 / p99"><div class="cell">' + spark(s.p99Ms, '#d29922', { connect: true }) + '<span title="service time; time held in long-polls is not counted">' + ms(c.p50Ms) + ' / ' + ms(c.p99Ms) + ' ms</span></div></td>' +
        '<td class="num" data-field="requests" data-label="requests">' + num(c.requests) + (c.heldRequests ? '<div class="sub" title="requests held in a long-poll (their wait is not in the latency)">' + num(c.heldRequests) + ' held</div>' : '') + '</td>' +
        '<td class="num" data-field="inflight" data-label="in flight">' + num(c.inflight) + '</td>' +
        '<td class="num ' + (c.restarts ? 'hot' : '') + '" data-field="restarts" data-label="restarts">' + num(c.restarts) + '</td>' +
        '<td class="lasterr' + (codes || le || types ? '' : ' none') + '">' + types + (codes || (le || types ? '' : '<span class="sub">–</span>')) + le + '</td></tr>';
    });
    for (const r of data.refused || []) {
      rows.push('<tr class="st-failed"><td colspan="2"><span class="dot"></span><span class="name">refused</span><div class="sub">' + esc(r.file) + '</div></td><td colspan="8"><div class="errtext" title="' + esc(r.message) + '">' + esc(r.message) + '</div></td></tr>');
    }
    $('cgis').tBodies[0].innerHTML = rows.join('') || '<tr><td colspan="10" class="empty">no CGIs loaded</td></tr>';
    $('cgicount').textContent = String(data.cgis.length);
  }

  function renderQueues(store, se) {
    const topics = [...new Set([...Object.keys(store.queueDepth || {}), ...Object.keys(store.queueLagSeconds || {}), ...Object.keys(store.queueRetries || {}), ...Object.keys(store.queueDeadLetters || {})])].sort();
    $('queues').tBodies[0].innerHTML = topics.map((t) => {
      const q = se.queues[t] || {};
      const lag = (store.queueLagSeconds || {})[t] || 0, dead = (store.queueDeadLetters || {})[t] || 0;
      return '<tr data-topic="' + esc(t) + '"><td class="name">' + esc(t) + '</td>' +
        '<td class="num"><div class="cell">' + spark(q.depth, '#58a6ff') + '<span>' + num((store.queueDepth || {})[t] || 0) + '</span></div></td>' +
        '<td class="num"><div class="cell">' + spark(q.lagSeconds, '#d29922') + '<span class="' + (lag > 10 ? 'hot' : '') + '">' + lag.toFixed(1) + 's</span></div></td>' +
        '<td class="num">' + num((store.queueRetries || {})[t] || 0) + '</td>' +
        '<td class="num ' + (dead ? 'hot' : '') + '">' + num(dead) + '</td></tr>';
    }).join('') || '<tr><td colspan="5" class="empty">' + (store.ok ? 'no queue jobs yet' : 'the store has not reported') + '</td></tr>';
  }

  function renderAlerts(alerts) {
    $('alertcount').innerHTML = alerts.active.length ? '<span class="hot">' + alerts.active.length + ' firing</span>' : '';
    const firing = alerts.active.map((a) => '<div class="item"><span class="when">' + ago(a.since || a.at) + '</span><span class="msg"><span class="badge err">firing</span>' + esc(a.summary) + '</span></div>');
    const recent = alerts.recent.map((a) => '<div class="item"><span class="when" title="' + esc(new Date(a.at).toISOString()) + '">' + clock(a.at) + '</span><span class="msg"><span class="badge ' + (a.status === 'resolved' ? 'ok' : 'err') + '">' + esc(a.status) + '</span>' + esc(a.summary) + '</span></div>');
    $('alerts').innerHTML = firing.concat(recent).join('') || '<div class="empty">no alerts</div>';
  }

  function renderErrors(errors) {
    $('errors').innerHTML = errors.map((e) => '<div class="item"><span class="when" title="' + esc(new Date(e.at).toISOString()) + '">' + clock(e.at) + '</span><span class="msg">' +
      (e.cgi ? '<span class="badge">' + esc(e.cgi + (e.version ? '@' + e.version : '')) + '</span>' : '') +
      (e.code ? '<span class="badge err">' + esc(e.status + ' ' + e.code) + '</span>' : '') + esc(e.message) +
      (e.requestId ? ' <span class="sub mono">' + esc(e.requestId) + '</span>' : '') + '</span></div>').join('') || '<div class="empty">no errors</div>';
  }

  function setLive(ok, text) {
    $('live').className = 'live ' + (ok ? 'ok' : 'bad');
    $('live').lastChild.textContent = text;
  }

  let busy = false;
  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const [cgis, ov, se] = await Promise.all([api('/_host/api/cgis'), api('/_host/api/overview'), api('/_host/api/series?minutes=5')]);
      renderHeader(ov);
      renderKpis(ov, se);
      renderCgis(cgis, ov, se);
      renderQueues(ov.store, se);
      renderAlerts(ov.alerts);
      renderErrors(ov.errors);
      $('auth').classList.remove('show');
      setLive(true, 'live · ' + clock(Date.now()));
    } catch (e) {
      if (e.auth) $('auth').classList.add('show');
      setLive(false, e.message);
    } finally {
      busy = false;
    }
  }
  refresh();
  setInterval(refresh, 2000);
})();
</script>
</body>
</html>
`;
