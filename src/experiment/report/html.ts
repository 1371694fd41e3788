/**
 * The self-contained report page: inline CSS, inline SVG charts, no scripts, no network.
 */
import type { CsvTable, LoadedStudy } from './load.js';

/** A chart as it goes into the page. */
export interface RenderedChart {
  name: string;
  title: string;
  caption: string;
  /** Inline SVG markup (ids already made unique), or undefined when the chart was omitted. */
  svg?: string;
  omitted?: string;
  /** Paths of the chart files relative to the HTML file. */
  svgFile?: string;
  pngFile?: string;
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Columns whose values come from the time model rather than a measurement. */
export function isModeledColumn(column: string): boolean {
  return column === 'commMs' || column.startsWith('modeled');
}

const CSS = `
body { font-family: 'DejaVu Sans', Verdana, Arial, sans-serif; margin: 2em auto; max-width: 1200px;
  padding: 0 1em; color: #222; line-height: 1.4; }
h1 { margin-bottom: 0.2em; }
h2 { margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.description { color: #444; margin-top: 0; }
.modeled-note { background: #fff6e0; border-left: 4px solid #e0a800; padding: 0.6em 1em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; }
th { background: #f2f2f2; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.settings th { text-align: left; position: static; }
.table-wrap { overflow-x: auto; max-height: 40em; overflow-y: auto; }
figure { margin: 1em 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: 0.9em; max-width: 60em; }
.omitted { color: #666; font-style: italic; }
.tag { font-size: 0.75em; color: #a06800; font-weight: normal; }
.notes li { color: #666; }
`;

function distinctSorted(values: readonly (string | number)[]): string {
  const set = [...new Set(values.map(String))];
  const numeric = set.every((v) => v !== '' && Number.isFinite(Number(v)));
  set.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => a.localeCompare(b));
  return set.join(', ');
}

function settingsTable(study: LoadedStudy): string {
  const m = study.manifest;
  const rows = study.rows;
  const entries: [string, string][] = [
    ['mode', m.quick ? 'quick (reduced steps and grid, for a fast look)' : 'full'],
    [
      'network model (modeled)',
      `bandwidth ${m.network.bandwidthMBps} MB/s, latency ${m.network.latencyMs} ms per transfer ` +
        '(star around the PS; communication times in this report come from this model)',
    ],
    ['finished runs', `${rows.length} of ${m.runs.length} planned`],
  ];
  if (m.environment !== undefined) {
    const e = m.environment;
    entries.push(['ran on', `${e.cpu} (${e.cores} cores), ${e.platform}, Node ${e.node}, draco ${e.draco}`]);
  }
  if (m.targets.length > 0) entries.push(['accuracy targets', m.targets.join(', ')]);
  if (rows.length > 0) {
    entries.push(
      [
        'model / dataset',
        `${distinctSorted(rows.map((r) => r.model))} / ${distinctSorted(rows.map((r) => r.dataset))}`,
      ],
      ['defenses', distinctSorted(rows.map((r) => r.defense))],
      ['attacks', distinctSorted(rows.map((r) => r.attack))],
      ['placements', distinctSorted(rows.map((r) => r.placement))],
      [
        'workers n / Byzantine s',
        `${distinctSorted(rows.map((r) => r.n))} / ${distinctSorted(rows.map((r) => r.s))}`,
      ],
      ['seeds', distinctSorted(rows.map((r) => r.seed))],
    );
  }
  if (m.aggregationCost !== undefined) {
    entries.push([
      'aggregation cost study',
      `rules ${m.aggregationCost.rules.join(', ')}; n = ${m.aggregationCost.n.join(', ')}; d = ${m.aggregationCost.d}` +
        (typeof m.aggregationCost.runs === 'number'
          ? `; ${m.aggregationCost.runs} timed runs per point (median)`
          : ''),
    ]);
  }
  return (
    '<table class="settings">\n' +
    entries.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('\n') +
    '\n</table>'
  );
}

function csvTable(table: CsvTable, label: string): string {
  const head = table.header
    .map((h) =>
      isModeledColumn(h)
        ? `<th>${escapeHtml(h)} <span class="tag">(modeled)</span></th>`
        : `<th>${escapeHtml(h)}</th>`,
    )
    .join('');
  const body = table.rows
    .map(
      (cells) =>
        '<tr>' +
        cells
          .map((c) => {
            const numeric = c.trim() !== '' && Number.isFinite(Number(c));
            return numeric ? `<td class="num">${escapeHtml(c)}</td>` : `<td>${escapeHtml(c)}</td>`;
          })
          .join('') +
        '</tr>',
    )
    .join('\n');
  return (
    `<div class="table-wrap"><table aria-label="${escapeHtml(label)}">\n<thead><tr>${head}</tr></thead>\n` +
    `<tbody>\n${body}\n</tbody></table></div>`
  );
}

function chartSection(chart: RenderedChart): string {
  const heading = `<h2 id="${escapeHtml(chart.name)}">${escapeHtml(chart.title)}</h2>`;
  if (chart.svg === undefined) {
    return `<section>\n${heading}\n<p class="omitted">Chart omitted: ${escapeHtml(chart.omitted ?? '')}</p>\n</section>`;
  }
  const links: string[] = [];
  if (chart.svgFile !== undefined) links.push(`<a href="${escapeHtml(chart.svgFile)}">SVG</a>`);
  if (chart.pngFile !== undefined) links.push(`<a href="${escapeHtml(chart.pngFile)}">PNG</a>`);
  return (
    `<section>\n${heading}\n<figure>\n${chart.svg}\n<figcaption>${escapeHtml(chart.caption)}` +
    (links.length > 0 ? ` Files: ${links.join(', ')}.` : '') +
    '</figcaption>\n</figure>\n</section>'
  );
}

/** The whole page. */
export function reportHtml(study: LoadedStudy, charts: readonly RenderedChart[], summaryHtml = ''): string {
  const m = study.manifest;
  const title = `draco study: ${m.name}`;
  const parts: string[] = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(title)}</h1>`,
    m.description !== '' ? `<p class="description">${escapeHtml(m.description)}</p>` : '',
    '<p class="modeled-note"><strong>Modeled times.</strong> This study runs every worker in one process, ' +
      'so cluster time is not measured: it is <em>modeled</em>. A modeled step is the slowest ' +
      "worker's measured compute + encode, plus modeled communication (the network model below), plus " +
      'the measured decode/aggregate and update at the PS. Everything labeled "modeled" comes from this ' +
      'model; wall times (wallStepMs, wallSeconds) are measured in-process.</p>',
    '<h2 id="settings">Settings</h2>',
    settingsTable(study),
    '<nav><p>Charts: ' +
      charts.map((c) => `<a href="#${escapeHtml(c.name)}">${escapeHtml(c.title)}</a>`).join(' · ') +
      ' · <a href="#results">results table</a></p></nav>',
    ...charts.map(chartSection),
    summaryHtml !== ''
      ? '<h2 id="summary">Summary by cluster and attack</h2>\n<p>Also in tables.md beside this page.</p>\n' +
        summaryHtml
      : '',
    '<h2 id="results">Results</h2>',
    `<p>results.csv: one row per finished run (${study.rows.length}). Times are in ms unless the column ` +
      'name says seconds; per-step columns are medians over steps. Columns marked (modeled) come from the ' +
      'time model.</p>',
    study.rows.length > 0
      ? csvTable(study.results, 'results')
      : '<p class="omitted">No finished runs yet.</p>',
  ];
  if (study.aggregationCost !== undefined) {
    parts.push(
      '<h2 id="aggregation-cost-table">Aggregation cost</h2>',
      '<p>aggregation-cost.csv: median time of one aggregation at the PS (measured), ms.</p>',
      csvTable(study.aggregationCost.table, 'aggregation cost'),
    );
  }
  if (study.notes.length > 0) {
    parts.push(
      '<h2 id="notes">Notes</h2>',
      '<ul class="notes">' + study.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('') + '</ul>',
    );
  }
  parts.push(
    '<footer><p class="omitted">Written by <code>draco report</code>.</p></footer>',
    '</body>',
    '</html>',
    '',
  );
  return parts.filter((p) => p !== '').join('\n');
}
