// SPDX-License-Identifier: MIT
// The sluice dashboard: polls the daemon's JSON API and draws it. No library: the graph is
// laid out in layers (inputs left, outputs right) and drawn as SVG with pan and zoom; every
// string from the daemon goes in as text, never as markup.
'use strict';

const STATES = ['complete', 'running', 'starting', 'queued', 'retrying', 'failed', 'waiting'];
const state = { status: null, graph: null, task: null, unit: null, view: { x: 20, y: 20, k: 1 },
  fitted: false };

function h(tag, attrs, ...children) {
  const svg = ['svg', 'g', 'rect', 'text', 'path', 'line', 'defs', 'marker', 'title'].includes(tag);
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag)
                 : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    // Through the CSSOM: the page's Content-Security-Policy refuses style attributes.
    else if (k === 'style') el.style.cssText = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const $ = (id) => document.getElementById(id);

async function api(path) {
  const r = await fetch(path, { cache: 'no-store' });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function toast(text, bad) {
  const t = $('toast');
  t.textContent = text;
  t.className = bad ? 'bad' : '';
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 5000);
}

// --- formatting -------------------------------------------------------------------------

function fmtDuration(usec) {
  if (usec === null || usec === undefined) return '-';
  const s = usec / 1e6;
  if (s < 1) return (usec / 1000).toFixed(0) + ' ms';
  if (s < 60) return s.toFixed(1) + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + Math.round(s % 60) + ' s';
  return Math.floor(s / 3600) + ' h ' + Math.round((s % 3600) / 60) + ' min';
}

function fmtBytes(b) {
  if (b === null || b === undefined) return '-';
  const u = ['B', 'K', 'M', 'G', 'T'];
  let i = 0;
  while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
  return (i ? b.toFixed(1) : b) + u[i];
}

function fmtTime(usec) {
  if (!usec) return '-';
  return new Date(usec / 1000).toLocaleString();
}

function badge(s) { return h('span', { class: 'state s-' + s, 'data-state': s }, s); }

function instanceName(params) { return params && params.length ? params.join(' ') : '(no parameters)'; }

// --- actions ----------------------------------------------------------------------------

async function act(verb, pipeline, task, params, force) {
  const q = new URLSearchParams({ task: pipeline + '/' + task });
  for (const p of params || []) q.append('param', p);
  if (force) q.append('force', '1');
  try {
    const r = await fetch('/api/' + verb + '?' + q, {
      method: 'POST', headers: { 'X-Sluice-CSRF': state.status.csrf } });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    toast(verb + ': ' + body.unit);
    refresh();
  } catch (e) {
    toast(verb + ' refused: ' + e.message, true);
  }
}

// Buttons for an instance, only when the daemon lets the dashboard act.
function actions(pipeline, task, params, s) {
  if (!state.status || !state.status.control) return null;
  const b = [];
  const one = (verb, label, cls) => b.push(h('button', { class: 'act ' + (cls || ''),
    'data-action': verb, onclick: (e) => { e.stopPropagation(); act(verb, pipeline, task, params, verb === 'run' && s === 'complete'); } }, label));
  if (s === 'failed' || s === 'retrying') one('retry', 'retry');
  if (s === 'failed') one('reset-failed', 'forget failure');
  if (['queued', 'starting', 'running', 'retrying'].includes(s)) one('cancel', 'cancel', 'danger');
  if (s === 'complete' || s === 'failed') one('run', s === 'complete' ? 're-run' : 'run');
  return b;
}

// --- header -------------------------------------------------------------------------------

function drawStatus(s) {
  $('version').textContent = s.version;
  const c = $('counters');
  c.replaceChildren(
    ...[['running', s.running + s.starting], ['queued', s.queued], ['retrying', s.retrying],
      ['failed', s.failed], ['waiting', s.waiting], ['runs ok', s.runs_succeeded], ['runs failed', s.runs_failed]]
      .map(([k, v]) => h('span', { 'data-counter': k }, h('b', {}, v), k)));
  const used = s.running + s.starting;
  $('slots').replaceChildren(h('div', {}, 'slots: ' + used + ' of ' + s.max_parallel + ' in use'),
    h('div', { class: 'bar' }, h('div', { style: 'width:' + Math.min(100, 100 * used / Math.max(1, s.max_parallel)) + '%' })));
  $('pools').replaceChildren(...s.pools.map((p) => h('div', { class: 'pool' }, p.name,
    h('div', { class: 'bar' }, h('div', { style: 'width:' + Math.min(100, 100 * p.used / Math.max(1, p.size)) + '%' })),
    p.used + ' / ' + p.size)));
  $('queue').tBodies[0].replaceChildren(...(s.queue.length ? s.queue.map((i, n) => h('tr', { 'data-unit': i.unit },
    h('td', {}, n + 1), h('td', {}, i.pipeline + '/' + i.task), h('td', {}, instanceName(i.params) + (i.backfill ? ' (backfill)' : '')),
    h('td', {}, actions(i.pipeline, i.task, i.params, 'queued')))) : [h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'nothing queued'))]));
  $('backfills').replaceChildren(...s.backfills.filter((b) => !b.finished_usec).map((b) =>
    h('div', {}, 'backfill ' + b.id + ': ' + b.pipeline + '/' + b.task + ' ' + b.from + ' → ' + b.to + ': ' +
      b.complete + ' of ' + b.total + ' complete, ' + b.running + ' to go, ' + b.failed + ' failed')));
}

// --- graph ------------------------------------------------------------------------------

// Columns by longest path: a task right of its inputs, a target right of its producer.
function layout(p) {
  const col = new Map();
  const tasks = new Map(p.tasks.map((t) => [t.name, t]));
  const targetCol = (name, seen) => {
    const key = 'target:' + name;
    if (col.has(key)) return col.get(key);
    const t = p.targets.find((x) => x.name === name);
    const c = t && t.producer && !seen.has(t.producer) ? taskCol(tasks.get(t.producer), seen) + 1 : 0;
    col.set(key, c);
    return c;
  };
  const taskCol = (t, seen) => {
    const key = 'task:' + t.name;
    if (col.has(key)) return col.get(key);
    seen = new Set(seen).add(t.name);
    // A task that reads its own earlier output is no cycle: skip its own outputs.
    const ins = t.inputs.filter((n) => !t.outputs.includes(n));
    const c = ins.length ? Math.max(...ins.map((n) => targetCol(n, seen))) + 1 : 1;
    col.set(key, c);
    return c;
  };
  p.tasks.forEach((t) => taskCol(t, new Set()));
  p.targets.forEach((t) => targetCol(t.name, new Set()));
  const nodes = [];
  const rows = new Map();
  const place = (kind, item) => {
    const c = col.get(kind + ':' + item.name);
    const r = rows.get(c) || 0;
    rows.set(c, r + 1);
    nodes.push({ kind, item, col: c, row: r });
  };
  p.targets.forEach((t) => place('target', t));
  p.tasks.forEach((t) => place('task', t));
  return { nodes, height: Math.max(1, ...rows.values()) };
}

const W = { task: 200, target: 170, col: 240, row: 84, taskH: 62, targetH: 40 };

function drawGraph(g) {
  const vp = $('viewport');
  const out = [];
  let y0 = 0;
  for (const p of g.pipelines) {
    const { nodes, height } = layout(p);
    const pos = new Map();
    out.push(h('text', { class: 'pipeline-label', x: 0, y: y0 + 12 },
      'pipeline ' + p.name + (p.paused ? ' (paused: sluicectl resume ' + p.name + ')' : '')));
    for (const n of nodes) {
      const x = n.col * W.col;
      const y = y0 + 24 + n.row * W.row;
      pos.set(n.kind + ':' + n.item.name, { x, y, w: n.kind === 'task' ? W.task : W.target,
        h: n.kind === 'task' ? W.taskH : W.targetH });
    }
    const edge = (a, b) => {
      const pa = pos.get(a); const pb = pos.get(b);
      if (!pa || !pb) return;
      const x1 = pa.x + pa.w; const y1 = pa.y + pa.h / 2; const x2 = pb.x; const y2 = pb.y + pb.h / 2;
      const mx = (x1 + x2) / 2;
      out.push(h('path', { class: 'edge', d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2 - 4},${y2}` }));
    };
    for (const t of p.tasks) {
      t.inputs.forEach((i) => edge('target:' + i, 'task:' + t.name));
      t.outputs.forEach((o) => edge('task:' + t.name, 'target:' + o));
    }
    for (const n of nodes) {
      const q = pos.get(n.kind + ':' + n.item.name);
      out.push(n.kind === 'task' ? taskNode(p, n.item, q) : targetNode(n.item, q));
    }
    y0 += 24 + height * W.row + 30;
  }
  vp.replaceChildren(...out);
  if (!state.fitted) { fit(); state.fitted = true; }
}

function taskNode(p, t, q) {
  const key = p.name + '/' + t.name;
  const c = t.counts;
  const total = STATES.reduce((s, k) => s + (c[k] || 0), 0);
  const bar = [];
  let x = 8;
  for (const k of STATES) {
    const w = total ? (W.task - 16) * (c[k] || 0) / total : 0;
    if (w > 0) bar.push(h('rect', { x: q.x + x, y: q.y + 40, width: w, height: 10, fill: `var(--${k})` },
      h('title', {}, (c[k] || 0) + ' ' + k)));
    x += w;
  }
  if (!total) bar.push(h('rect', { x: q.x + 8, y: q.y + 40, width: W.task - 16, height: 10, fill: 'var(--none)' }));
  const summary = STATES.filter((k) => c[k]).map((k) => c[k] + (k === 'complete' && t.complete_capped ? '+' : '') + ' ' + k).join(', ') || 'no instances';
  return h('g', { class: 'node task' + (state.task === key ? ' selected' : ''), 'data-task': key,
    'data-failed': c.failed || 0, 'data-complete': c.complete || 0,
    onclick: () => selectTask(p.name, t.name) },
  h('rect', { class: 'box', x: q.x, y: q.y, width: q.w, height: q.h, rx: 6 }),
  h('text', { x: q.x + 8, y: q.y + 17 }, t.name),
  h('text', { class: 'small', x: q.x + 8, y: q.y + 32 }, summary.length > 34 ? summary.slice(0, 33) + '…' : summary),
  bar, h('title', {}, key + '\n' + summary));
}

function targetNode(t, q) {
  const label = t.template.length > 28 ? '…' + t.template.slice(-27) : t.template;
  const alarm = t.poll_failures > 0;
  return h('g', { class: 'node target' + (alarm ? ' alarm' : ''), 'data-target': t.name },
    h('rect', { class: 'box', x: q.x, y: q.y, width: q.w, height: q.h, rx: 14 }),
    h('text', { x: q.x + 10, y: q.y + 16 }, t.name + ' (' + t.kind + ')'),
    h('text', { class: 'small', x: q.x + 10, y: q.y + 31 }, label),
    h('title', {}, t.template + (alarm ? '\npolls failing: ' + (t.poll_error || '') : '')));
}

function applyView() {
  const v = state.view;
  $('viewport').setAttribute('transform', `translate(${v.x},${v.y}) scale(${v.k})`);
}

function fit() {
  const vp = $('viewport');
  const svg = $('graph');
  const b = vp.getBBox();
  if (!b.width) return;
  const k = Math.min(2, Math.max(0.05, Math.min((svg.clientWidth - 40) / b.width, (svg.clientHeight - 40) / b.height)));
  state.view = { k, x: 20 - b.x * k, y: 20 - b.y * k };
  applyView();
}

function zoom(f, cx, cy) {
  const v = state.view;
  const k = Math.min(4, Math.max(0.05, v.k * f));
  v.x = cx - (cx - v.x) * (k / v.k);
  v.y = cy - (cy - v.y) * (k / v.k);
  v.k = k;
  applyView();
}

function setupPanZoom() {
  const svg = $('graph');
  svg.prepend(h('defs', {}, h('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, h('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#aab2bf' }))));
  let drag = null;
  svg.addEventListener('pointerdown', (e) => {
    if (e.target.closest('.node.task')) return;
    drag = { x: e.clientX, y: e.clientY, vx: state.view.x, vy: state.view.y };
    svg.classList.add('dragging');
    svg.setPointerCapture(e.pointerId);
  });
  svg.addEventListener('pointermove', (e) => {
    if (!drag) return;
    state.view.x = drag.vx + e.clientX - drag.x;
    state.view.y = drag.vy + e.clientY - drag.y;
    applyView();
  });
  const end = () => { drag = null; svg.classList.remove('dragging'); };
  svg.addEventListener('pointerup', end);
  svg.addEventListener('pointercancel', end);
  svg.addEventListener('wheel', (e) => {
    e.preventDefault();
    const r = svg.getBoundingClientRect();
    zoom(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  $('zoom-in').onclick = () => zoom(1.25, svg.clientWidth / 2, svg.clientHeight / 2);
  $('zoom-out').onclick = () => zoom(0.8, svg.clientWidth / 2, svg.clientHeight / 2);
  $('zoom-fit').onclick = fit;
  $('legend').replaceChildren(...STATES.map((s) => h('span', {}, h('i', { style: `background:var(--${s})` }), s)));
}

// --- one task's instances -----------------------------------------------------------------

function selectTask(pipeline, task) {
  state.task = pipeline + '/' + task;
  $('task-panel').hidden = false;
  $('task-title').textContent = 'Task ' + state.task;
  if (state.graph) drawGraph(state.graph);
  refreshTask();
}

async function refreshTask() {
  if (!state.task) return;
  const key = state.task;
  const d = await api('/api/instances?task=' + encodeURIComponent(key) + '&limit=2000');
  if (state.task !== key) return;
  const body = $('instances').tBodies[0];
  body.replaceChildren(...(d.instances.length ? d.instances.map((i) => h('tr', {
    class: 'clickable', 'data-unit': i.unit, 'data-state': i.state, onclick: () => showLog(i.unit) },
  h('td', {}, instanceName(i.params)), h('td', {}, badge(i.state)), h('td', {}, i.attempts),
  h('td', {}, i.reason || (i.state === 'retrying' ? 'next try ' + fmtTime(i.wake_usec) : '')),
  h('td', {}, actions(d.pipeline, d.task, i.params, i.state)))) : [h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'nothing waiting, queued, running or failed'))]));
  $('task-summary').textContent = d.instances.length + ' held by the daemon, ' + d.complete_total +
    (d.complete_capped ? '+' : '') + ' complete';
  const cells = d.instances.map((i) => ({ params: i.params, state: i.state, unit: i.unit }))
    .concat(d.complete.map((i) => ({ params: i.params, state: 'complete' })));
  $('grid-note').textContent = cells.length < d.instances.length + d.complete_total ? '(newest ' + cells.length + ' shown)' : '';
  $('grid').replaceChildren(...cells.map((c) => h('div', { class: 'cell', style: `background:var(--${c.state})`,
    title: instanceName(c.params) + ': ' + c.state, onclick: () => c.unit ? showLog(c.unit) : toast(instanceName(c.params) + ' is complete') })));
}

// --- running units, history, logs -----------------------------------------------------------

function drawUnits(units) {
  const now = Date.now() * 1000;
  $('running').tBodies[0].replaceChildren(...(units.length ? units.map((u) => h('tr', {
    class: 'clickable', 'data-unit': u.unit, 'data-state': u.state, onclick: () => showLog(u.unit) },
  h('td', {}, u.unit), h('td', {}, badge(u.state)), h('td', {}, u.started_usec ? fmtDuration(now - u.started_usec) : '-'),
  h('td', { class: 'cpu', title: u.cpu_source === 'process' ? 'summed over the unit\'s processes (no CPU accounting under cgroup v1)' : 'from systemd' },
    u.cpu_percent !== undefined ? u.cpu_percent.toFixed(0) + '%' : '-'),
  h('td', { class: 'memory' }, fmtBytes(u.memory_bytes)), h('td', {}, u.tasks === null ? '-' : u.tasks),
  h('td', {}, actions(u.pipeline, u.task, u.params, u.state)))) : [h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'nothing running'))]));
}

function drawHistory(runs) {
  $('history').tBodies[0].replaceChildren(...runs.slice(0, 50).map((r) => h('tr', {
    class: 'clickable', 'data-unit': r.unit, 'data-result': r.result, onclick: () => showLog(r.unit) },
  h('td', {}, fmtTime(r.finished_usec)), h('td', {}, r.pipeline + '/' + r.task), h('td', {}, r.instance),
  h('td', {}, badge(r.result === 'success' ? 'success' : 'failed'), r.result !== 'success' && r.failure ? ' ' + r.failure : ''),
  h('td', {}, fmtDuration(r.duration_usec)), h('td', {}, fmtDuration(r.cpu_usec)), h('td', {}, fmtBytes(r.memory_peak)))));
  if (!runs.length) $('history').tBodies[0].replaceChildren(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'no runs yet')));
  // The chart: one bar per run, oldest left.
  const chart = $('chart');
  const list = runs.slice(0, 100).reverse();
  const width = chart.clientWidth || 600; const height = 120; const pad = 18;
  const max = Math.max(1, ...list.map((r) => r.duration_usec || 0));
  const bw = Math.max(2, Math.min(24, (width - 50) / Math.max(1, list.length)));
  chart.replaceChildren(
    h('text', { x: 0, y: 10 }, fmtDuration(max)), h('text', { x: 0, y: height - 4 }, '0'),
    ...list.map((r, i) => {
      const bh = Math.max(1, (height - pad - 6) * (r.duration_usec || 0) / max);
      return h('rect', { class: r.result === 'success' ? 'success' : 'failed', x: 44 + i * bw, y: height - pad - bh + 8,
        width: bw - 1, height: bh, onclick: () => showLog(r.unit) },
      h('title', {}, r.pipeline + '/' + r.task + ' ' + r.instance + ': ' + r.result + ', ' + fmtDuration(r.duration_usec)));
    }));
}

function showLog(unit) {
  state.unit = unit;
  $('log-panel').hidden = false;
  $('log-unit').textContent = unit;
  refreshLog();
  $('log-panel').scrollIntoView({ block: 'nearest' });
}

async function refreshLog() {
  if (!state.unit) return;
  const unit = state.unit;
  const lines = await api('/api/logs?unit=' + encodeURIComponent(unit) + '&lines=200');
  if (state.unit !== unit) return;
  const pre = $('log');
  const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  pre.replaceChildren(...(lines.length ? lines.map((l) => h('div', { class: l.priority !== null && l.priority <= 3 ? 'err' : '' },
    new Date(l.time_usec / 1000).toLocaleTimeString() + ' ' + l.ident + '[' + l.pid + ']: ' + l.message)) : ['(no lines yet)']));
  if (atEnd) pre.scrollTop = pre.scrollHeight;
}

// --- the loop -----------------------------------------------------------------------------

// All at once, so that the panels show one moment (the daemon answers them in a row).
async function refresh() {
  try {
    const [status, graph, units, history] = await Promise.all([api('/api/status'),
      api('/api/graph'), api('/api/units'), api('/api/history?limit=200'), refreshTask(), refreshLog()]);
    state.status = status;
    drawStatus(status);
    state.graph = graph;
    drawGraph(graph);
    drawUnits(units);
    drawHistory(history);
    $('link').textContent = 'live · ' + new Date().toLocaleTimeString();
    $('link').className = 'link';
  } catch (e) {
    $('link').textContent = 'daemon unreachable: ' + e.message;
    $('link').className = 'link down';
  }
}

async function loop() {
  await refresh();
  setTimeout(loop, 2000);
}

document.addEventListener('DOMContentLoaded', () => {
  setupPanZoom();
  $('task-close').onclick = () => { state.task = null; $('task-panel').hidden = true; if (state.graph) drawGraph(state.graph); };
  $('log-close').onclick = () => { state.unit = null; $('log-panel').hidden = true; };
  loop();
});
