// The draco dashboard page (docs/dashboard.md). Reads /api/runs and one run's /events stream
// (history first, then live), and draws it with vega-lite. Plain script: vega and vegaLite are
// globals from the bundles the server ships.
'use strict';

// Most telling first, as src/dashboard/events.ts orders them.
const STATUSES = ['rejected', 'erased', 'suspect', 'banned', 'byzantine', 'honest'];
const COLORS = ['#7b3294', '#9e9e9e', '#d7191c', '#111111', '#fdae61', '#e9f3e9'];
const PARTS = ['compute', 'encode', 'communication', 'decode', 'update'];
const X_TITLES = { step: 'step', wallS: 'measured time (s)', modeledS: 'modeled parallel time (s)' };

const state = { meta: null, steps: [], summary: null, source: null, views: [], timer: null, ended: false };
const $ = (id) => document.getElementById(id);

function fmtDuration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

const pct = (x) => (Number.isFinite(x) ? `${(100 * x).toFixed(2)}%` : '-');

function setState(text, cls) {
  const el = $('state');
  el.textContent = text;
  el.className = `state ${cls || ''}`;
}

// ---- the run's data -----------------------------------------------------------------------

function reset() {
  state.meta = null;
  state.steps = [];
  state.summary = null;
  state.ended = false;
}

function handle(e) {
  if (e.kind === 'meta') state.meta = e.meta;
  else if (e.kind === 'step') state.steps.push(e.step);
  else if (e.kind === 'summary') state.summary = e.summary;
  schedule();
}

function connect(runId) {
  if (state.source) state.source.close();
  reset();
  rebuild();
  const es = new EventSource(`/events?run=${encodeURIComponent(runId)}`);
  state.source = es;
  // A reconnect replays the history: start over rather than count it twice.
  es.onopen = () => {
    reset();
    rebuild();
    setState('live', 'live');
  };
  es.onmessage = (m) => handle(JSON.parse(m.data));
  es.addEventListener('end', () => {
    es.close();
    state.ended = true;
    schedule();
  });
  es.onerror = () => {
    if (state.ended) return;
    setState('disconnected: the run is not reachable (retrying)', 'failed');
  };
}

// ---- rows for the charts ------------------------------------------------------------------

const xs = (s) => ({ step: s.step + 1, wallS: s.wallMs / 1000, modeledS: s.modeledMs / 1000 });

function lossRows(steps) {
  const out = [];
  for (const s of steps) {
    if (Number.isFinite(s.trainLoss) && s.trainLoss > 0)
      out.push({ ...xs(s), series: 'train loss', value: s.trainLoss });
    if (Number.isFinite(s.testLoss) && s.testLoss > 0)
      out.push({ ...xs(s), series: 'test loss', value: s.testLoss });
  }
  return out;
}

function accRows(steps) {
  return steps
    .filter((s) => Number.isFinite(s.testAccuracy))
    .map((s) => ({ ...xs(s), series: 'test accuracy', value: s.testAccuracy }));
}

function timeRows(steps) {
  const out = [];
  for (const s of steps) {
    const ms = [s.computeMs, s.encodeMs, s.commMs, s.decodeMs, s.updateMs];
    PARTS.forEach((part, i) => out.push({ step: s.step + 1, part, order: i, ms: ms[i] }));
  }
  return out;
}

// The most telling state of a worker's status bits (bit i: STATUSES[i]).
const lowestBit = (bits) => STATUSES.findIndex((_, i) => (bits >> i) & 1);

function stripRows(steps) {
  const out = [];
  for (const s of steps)
    for (const [worker, bits] of s.workers)
      out.push({ step: s.step, step2: s.step + 1, worker, status: STATUSES[lowestBit(bits)] });
  return out;
}

// ---- charts -------------------------------------------------------------------------------

function xEnc() {
  const f = $('x-axis').value;
  return { field: f, type: 'quantitative', title: X_TITLES[f] };
}

function specs() {
  const meta = state.meta || { workers: 1, steps: 1, firstStep: 0 };
  const workers = Array.from({ length: Math.max(1, meta.workers) }, (_, i) => i);
  return [
    {
      el: 'loss-chart',
      rows: lossRows,
      spec: {
        width: 430,
        height: 230,
        title: 'loss',
        data: { name: 'rows' },
        mark: { type: 'line', point: { size: 12 }, tooltip: true },
        encoding: {
          x: xEnc(),
          y: { field: 'value', type: 'quantitative', title: 'loss (log scale)', scale: { type: 'log' } },
          color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'top' } },
        },
      },
    },
    {
      el: 'acc-chart',
      rows: accRows,
      spec: {
        width: 430,
        height: 230,
        title: 'test accuracy',
        data: { name: 'rows' },
        mark: { type: 'line', point: true, tooltip: true },
        encoding: {
          x: xEnc(),
          y: { field: 'value', type: 'quantitative', title: 'accuracy', scale: { domain: [0, 1] } },
          color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'top' } },
        },
      },
    },
    {
      el: 'time-chart',
      rows: timeRows,
      spec: {
        width: 900,
        height: 180,
        data: { name: 'rows' },
        mark: { type: 'area', tooltip: true },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'step' },
          y: { field: 'ms', type: 'quantitative', title: 'ms per step', stack: 'zero' },
          color: { field: 'part', type: 'nominal', title: null, sort: PARTS, scale: { domain: PARTS } },
          order: { field: 'order' },
        },
      },
    },
    {
      el: 'strip',
      rows: stripRows,
      spec: {
        width: 900,
        height: Math.max(60, 14 * workers.length),
        data: { name: 'rows' },
        config: { view: { fill: COLORS[COLORS.length - 1], stroke: null } },
        mark: { type: 'rect', tooltip: true },
        encoding: {
          x: {
            field: 'step',
            type: 'quantitative',
            title: 'step',
            scale: { domain: [meta.firstStep, Math.max(meta.steps, meta.firstStep + 1)], nice: false },
          },
          x2: { field: 'step2' },
          y: { field: 'worker', type: 'ordinal', title: 'worker', scale: { domain: workers } },
          color: {
            field: 'status',
            type: 'nominal',
            title: null,
            scale: { domain: STATUSES, range: COLORS },
            legend: { orient: 'top' },
          },
        },
      },
    },
  ];
}

function rebuild() {
  for (const v of state.views) v.view.finalize();
  state.views = specs().map(({ el, rows, spec }) => {
    const compiled = vegaLite.compile({
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      ...spec,
    }).spec;
    // Canvas: redrawing a long run's marks as SVG elements costs the browser (and a run sharing
    // its machine) several times more.
    const view = new vega.View(vega.parse(compiled), {
      renderer: 'canvas',
      container: `#${el}`,
      hover: true,
    });
    return { el, view, rows, inserted: 0 };
  });
  window.dracoViews = Object.fromEntries(state.views.map((v) => [v.el, v.view]));
  schedule();
}

// ---- page updates (batched: at most two redraws a second, so a page on the same machine takes little from the run) ------------------------------

function schedule() {
  if (state.timer === null) state.timer = setTimeout(render, 500);
}

let drawnMetaKey = '';

function render() {
  state.timer = null;
  const { meta, steps, summary } = state;
  if (meta) {
    const key = `${meta.title}|${meta.workers}|${meta.steps}|${meta.firstStep}`;
    if (key !== drawnMetaKey) {
      drawnMetaKey = key;
      rebuild(); // the strip's axes depend on the run's shape
      return;
    }
    $('title').textContent = `draco: ${meta.title}`;
    document.title = `draco: ${meta.title}`;
    $('meta').textContent =
      `${meta.model} on ${meta.dataset}, ${meta.workers} workers, ${meta.byzantine} Byzantine (${meta.attack}), ` +
      `scheme ${meta.scheme}, ${meta.engine} engine`;
  }
  const total = meta ? meta.steps : 0;
  const done = steps.length > 0 ? steps[steps.length - 1].step + 1 : meta ? meta.firstStep : 0;
  $('step-counter').textContent = `step ${done} / ${total || '?'}`;
  $('progress').value = total > 0 ? done / total : 0;
  if (steps.length > 0 && !state.ended) {
    const last = steps[steps.length - 1];
    const perStep = last.wallMs / steps.length;
    $('eta').textContent =
      `elapsed ${fmtDuration(last.wallMs)}, ETA ${fmtDuration(perStep * (total - done))}`;
  } else if (state.ended)
    $('eta').textContent =
      steps.length > 0 ? `(steps took ${fmtDuration(steps[steps.length - 1].wallMs)})` : '';
  // Charts at most every CHART_MS (their redraw is the page's main cost), and at the end.
  const now = Date.now();
  if (now - lastChart < CHART_MS && !state.ended) {
    schedule();
  } else {
    lastChart = now;
    drawCharts(steps);
  }
  renderWorkers();
  if (state.ended) {
    if (summary) showSummary(summary);
    else setState('ended before its summary (interrupted?)', 'failed');
  }
}

const CHART_MS = 2000;
let lastChart = 0;

function drawCharts(steps) {
  for (const v of state.views) {
    if (v.inserted > steps.length) continue;
    const rows = v.rows(steps.slice(v.inserted));
    v.inserted = steps.length;
    if (rows.length > 0) v.view.change('rows', vega.changeset().insert(rows)).runAsync();
  }
}

function renderWorkers() {
  const meta = state.meta;
  if (!meta) return;
  const counts = Array.from({ length: meta.workers }, () => [0, 0, 0, 0, 0]);
  for (const s of state.steps)
    for (const [w, bits] of s.workers) {
      if (w >= counts.length) continue;
      for (let i = 0; i < 5; i++) if ((bits >> i) & 1) counts[w][i] += 1;
    }
  // Columns byzantine, suspect, erased, rejected, banned: steps in each state (a caught attacker
  // counts in the first two).
  const order = ['byzantine', 'suspect', 'erased', 'rejected', 'banned'].map((n) => STATUSES.indexOf(n));
  const body = $('workers').querySelector('tbody');
  body.replaceChildren(
    ...counts.map((c, w) => {
      const tr = document.createElement('tr');
      const td0 = document.createElement('td');
      td0.textContent = String(w);
      tr.append(td0);
      for (const i of order) {
        const td = document.createElement('td');
        td.dataset.worker = String(w);
        td.dataset.status = STATUSES[i];
        td.textContent = String(c[i]);
        if (c[i] > 0 && STATUSES[i] !== 'byzantine') td.className = 'flagged';
        tr.append(td);
      }
      return tr;
    }),
  );
}

function showSummary(s) {
  $('final').hidden = false;
  $('final-accuracy').textContent = pct(s.finalTestAccuracy);
  $('final-loss').textContent = Number.isFinite(s.finalTestLoss)
    ? s.finalTestLoss.toFixed(4)
    : String(s.finalTestLoss);
  $('final-suspects').textContent =
    `${s.totalSuspectsFlagged} suspects flagged (${s.suspectsThatWereByzantine} Byzantine, of ` +
    `${s.totalByzantineSlots} Byzantine slots), ${s.abortedSteps} steps aborted`;
  $('final-sha').textContent = s.paramsSha256;
  $('final-failed').textContent = s.failed ? `The run failed: ${s.failed}` : '';
  $('final-warnings').replaceChildren(
    ...s.warnings.map((w) => {
      const li = document.createElement('li');
      li.textContent = w;
      return li;
    }),
  );
  setState(s.failed ? 'failed' : 'finished', s.failed ? 'failed' : 'finished');
}

// ---- a study: its runs side by side -------------------------------------------------------

async function showStudy(runs) {
  $('study').hidden = false;
  const select = $('run-select');
  select.replaceChildren(
    ...runs.map((r) => {
      const o = document.createElement('option');
      o.value = r.id;
      o.textContent = r.id;
      return o;
    }),
  );
  select.addEventListener('change', () => connect(select.value));
  const curves = [];
  const body = $('runs').querySelector('tbody');
  for (const r of runs) {
    const events = await (await fetch(`/api/events?run=${encodeURIComponent(r.id)}`)).json();
    const meta = events.find((e) => e.kind === 'meta')?.meta;
    const summary = events.find((e) => e.kind === 'summary')?.summary;
    const steps = events.filter((e) => e.kind === 'step').map((e) => e.step);
    for (const s of steps)
      if (Number.isFinite(s.testAccuracy))
        curves.push({ run: r.id, step: s.step + 1, accuracy: s.testAccuracy });
    const tr = document.createElement('tr');
    tr.dataset.run = r.id;
    const cells = [
      r.id,
      meta?.scheme ?? '',
      meta?.attack ?? '',
      String(steps.length),
      summary ? pct(summary.finalTestAccuracy) : 'unfinished',
      summary ? `${summary.totalSuspectsFlagged} (${summary.suspectsThatWereByzantine})` : '',
    ];
    tr.append(
      ...cells.map((c) => {
        const td = document.createElement('td');
        td.textContent = c;
        return td;
      }),
    );
    body.append(tr);
  }
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 900,
    height: 260,
    title: 'test accuracy, every run',
    data: { values: curves },
    mark: { type: 'line', tooltip: true },
    encoding: {
      x: { field: 'step', type: 'quantitative' },
      y: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1] } },
      color: { field: 'run', type: 'nominal', legend: runs.length <= 20 ? { orient: 'right' } : null },
    },
  };
  await new vega.View(vega.parse(vegaLite.compile(spec).spec), {
    renderer: 'svg',
    container: '#study-chart',
  }).runAsync();
}

async function main() {
  $('x-axis').addEventListener('change', () => rebuild());
  const runs = await (await fetch('/api/runs')).json();
  if (runs.length > 1) await showStudy(runs);
  connect(runs[0].id);
}

main().catch((e) => setState(`error: ${e.message}`, 'failed'));
