/**
 * The dashboard's CGI-platform panels (SPEC §8): queue topics with their
 * consumers and dead letters (retry one from here), schedules (run one now),
 * and every group's business metrics with a sparkline. Spliced into
 * dashboard.ts's page: these are its markup and the functions its refresh
 * loop calls (they use that page's helpers: $, api, esc, num, rate, spark…).
 */
export const PLATFORM_STYLE = String.raw`
button.act{background:transparent;border:1px solid var(--line);color:var(--blue);border-radius:6px;padding:1px 8px;font-size:11px;cursor:pointer}
button.act:hover{border-color:var(--blue)}
.dead{padding:8px 12px;border-top:1px solid var(--line)}
.dead .item{grid-template-columns:90px minmax(0,1fr) auto}
.payload{color:var(--muted);max-width:520px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
/* Phones: one card per topic, schedule and metric (the numbers under their names), as the CGI table does. */
@media (max-width:720px){
  #queues thead,#schedules thead,#biz thead{display:none}
  #queues tbody tr,#schedules tbody tr,#biz tbody tr{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:6px 10px;padding:10px 12px;border-bottom:1px solid #21262d}
  #queues td,#schedules td,#biz td{display:block;border:0;padding:0;text-align:left;min-width:0}
  #queues td.wide,#schedules td.wide,#biz td.wide,#queues td.empty,#schedules td.empty,#biz td.empty{grid-column:1/-1}
  #queues td[data-label]::before,#schedules td[data-label]::before,#biz td[data-label]::before{content:attr(data-label);display:block;color:var(--muted);font-size:10px;text-transform:uppercase;letter-spacing:.5px}
  #queues .cell,#biz .cell{justify-content:flex-start}
  #biz svg.spark{display:none}
  .dead .item{grid-template-columns:minmax(0,1fr) auto}
  .dead .item .when{grid-column:1/-1}
}
`;

export const PLATFORM_PANELS = String.raw`
  <section class="panel"><h2>Queue topics <span class="count" id="topiccount"></span></h2>
    <div class="scroll"><table id="queues"><thead><tr><th>topic</th><th>consumer</th><th class="num">depth</th><th class="num">lag</th><th class="num">in flight</th><th class="num">done</th><th class="num">retries</th><th class="num">dead letters</th></tr></thead><tbody></tbody></table></div>
    <div class="dead" id="dead" hidden></div>
  </section>
  <div class="cols">
    <section class="panel"><h2>Schedules <span class="count" id="schedcount"></span></h2>
      <div class="scroll"><table id="schedules"><thead><tr><th>schedule</th><th>cron</th><th>next run</th><th>last run</th><th class="num">runs</th><th class="num">skipped</th><th></th></tr></thead><tbody></tbody></table></div>
    </section>
    <section class="panel"><h2>Business metrics <span class="count" id="bizcount"></span></h2>
      <div class="scroll"><table id="biz"><thead><tr><th>metric</th><th>kind</th><th class="num">now</th><th class="num">label sets</th><th class="num">dropped</th></tr></thead><tbody></tbody></table></div>
    </section>
  </div>
`;

export const PLATFORM_SCRIPT = String.raw`
  // A write from the page itself: the sign-in cookie goes with it, and the header (which no other site may send
  // without a CORS preflight the host never grants) with the page's own Origin lets the cookie write (auth.ts).
  async function post(path) {
    const r = await fetch(path, { method: 'POST', headers: { 'x-cgihost-dashboard': '1' }, cache: 'no-store' });
    if (r.status === 401) throw Object.assign(new Error('signed out'), { auth: true });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((body.error && body.error.message) || path + ': HTTP ' + r.status);
    return body;
  }

  let deadTopic = null;
  function renderQueues(store, se) {
    const s = store || {}, t = s.queueTopics || {};
    const topics = [...new Set([...Object.keys(s.queueDepth || {}), ...Object.keys(s.queueDeadLetters || {}), ...Object.keys(t)])].sort();
    $('queues').tBodies[0].innerHTML = topics.map((name) => {
      const q = se.queues[name] || {}, c = t[name] || {};
      const lag = (s.queueLagSeconds || {})[name] || 0, dead = (s.queueDeadLetters || {})[name] || 0;
      const own = name === 'fanout' || name === 'webhook';
      return '<tr data-topic="' + esc(name) + '"><td class="name wide">' + esc(name) + '</td>' +
        '<td class="wide" data-label="consumer">' + (own ? '<span class="sub">host</span>' : (c.consumers || []).map((x) => '<span class="badge">' + esc(x) + '</span>').join('') || '<span class="hot">none</span>') + '</td>' +
        '<td class="num" data-field="depth" data-label="depth"><div class="cell">' + spark(q.depth, '#58a6ff') + '<span>' + num((s.queueDepth || {})[name] || 0) + '</span></div></td>' +
        '<td class="num" data-label="lag"><div class="cell">' + spark(q.lagSeconds, '#d29922') + '<span class="' + (lag > 10 ? 'hot' : '') + '">' + lag.toFixed(1) + 's</span></div></td>' +
        '<td class="num" data-label="in flight">' + num(c.inflight || 0) + '</td><td class="num" data-field="done" data-label="done">' + num(c.done || 0) + '</td>' +
        '<td class="num" data-label="retries">' + num((s.queueRetries || {})[name] || 0) + '</td>' +
        '<td class="num ' + (dead ? 'hot' : '') + '" data-field="dead" data-label="dead letters">' + num(dead) + (dead && !own ? ' <button class="act" data-dead="' + esc(name) + '">show</button>' : '') + '</td></tr>';
    }).join('') || '<tr><td colspan="8" class="empty">' + (s.ok === false ? 'the store has not reported' : 'no queue topics yet') + '</td></tr>';
    $('topiccount').textContent = String(topics.length);
  }

  async function showDead(topic) {
    deadTopic = topic;
    const box = $('dead');
    box.hidden = false;
    try {
      const page = await api('/_host/api/queue/dead?topic=' + encodeURIComponent(topic) + '&limit=50');
      box.innerHTML = '<div class="sub">dead letters of <b>' + esc(topic) + '</b> <button class="act" data-close="1">close</button></div>' +
        (page.deadLetters.map((d) => '<div class="item" data-job="' + esc(d.jobId) + '"><span class="when mono">' + esc(d.jobId) + '</span><span class="msg">' +
          '<span class="badge err">' + esc(d.attempts) + ' tries</span>' + esc(d.error || '') + '<div class="payload mono">' + esc(d.payload) + '</div></span>' +
          '<button class="act" data-retry="' + esc(d.jobId) + '">retry</button></div>').join('') || '<div class="empty">none</div>');
    } catch (e) {
      box.textContent = e.message;
    }
  }

  function renderSchedules(data) {
    $('schedules').tBodies[0].innerHTML = data.schedules.map((s) => {
      const last = s.last ? (s.last.finishedAt ? '<span class="badge ' + (s.last.ok ? 'ok' : 'err') + '">' + (s.last.ok ? 'ok' : 'failed') + '</span>' + ago(s.last.startedAt) + (s.last.error ? ' <span class="errtext">' + esc(s.last.error) + '</span>' : '') : '<span class="badge">running</span>' + ago(s.last.startedAt)) : '<span class="sub">–</span>';
      return '<tr data-schedule="' + esc(s.name) + '" class="st-' + esc(s.state) + '"><td class="wide"><span class="dot"></span><span class="name">' + esc(s.name) + '</span><div class="sub">' + esc(s.group) + '</div></td>' +
        '<td class="mono" data-label="cron">' + esc(s.cron) + '</td><td data-label="next run">' + (s.nextRunAt ? clock(s.nextRunAt) : '–') + '</td><td class="wide" data-label="last run">' + last + '</td>' +
        '<td class="num" data-label="runs">' + num(s.runs) + (s.failures ? ' <span class="hot">(' + num(s.failures) + ' failed)</span>' : '') + '</td><td class="num" data-label="skipped">' + num(s.skipped) + '</td>' +
        '<td><button class="act" data-run="' + esc(s.name) + '"' + (s.running ? ' disabled' : '') + '>run now</button></td></tr>';
    }).join('') || '<tr><td colspan="7" class="empty">no schedules</td></tr>';
    $('schedcount').textContent = String(data.schedules.length);
  }

  function renderBiz(data, se) {
    const series = se.biz || {};
    $('biz').tBodies[0].innerHTML = data.metrics.map((m) => {
      const id = m.group + '.' + m.name;
      const total = m.series.reduce((a, s) => a + (m.kind === 'histogram' ? s.count : s.value), 0);
      const now = m.kind === 'gauge' ? num(Math.max(...m.series.map((s) => s.value))) : rate(m.rate) + '/s <span class="sub">(' + num(total) + ')</span>';
      return '<tr data-biz="' + esc(id) + '"><td class="wide"><span class="name">' + esc(m.name) + '</span><div class="sub">' + esc(m.group) + '</div></td><td data-label="kind">' + esc(m.kind) + '</td>' +
        '<td class="num" data-field="value" data-label="now"><div class="cell">' + spark((series[id] || {}).value, '#bc8cff') + '<span>' + now + '</span></div></td>' +
        '<td class="num" data-label="label sets">' + num(m.series.length) + '</td><td class="num ' + (m.dropped ? 'hot' : '') + '" data-label="dropped">' + num(m.dropped) + '</td></tr>';
    }).join('') || '<tr><td colspan="5" class="empty">no business metrics yet (ctx.metrics)</td></tr>';
    $('bizcount').textContent = String(data.metrics.length);
  }

  document.addEventListener('click', async (e) => {
    const b = e.target.closest && e.target.closest('button.act');
    if (!b) return;
    try {
      if (b.dataset.dead) await showDead(b.dataset.dead);
      else if (b.dataset.close) { deadTopic = null; $('dead').hidden = true; }
      else if (b.dataset.retry) { await post('/_host/api/queue/dead/' + encodeURIComponent(b.dataset.retry) + '/retry'); if (deadTopic) await showDead(deadTopic); refresh(); }
      else if (b.dataset.run) { b.disabled = true; await post('/_host/api/schedules/' + encodeURIComponent(b.dataset.run) + '/run'); refresh(); }
    } catch (err) {
      if (err.auth) $('auth').classList.add('show');
      setLive(false, err.message);
    }
  });
`;
