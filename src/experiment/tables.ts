/**
 * Markdown summary tables of a study (DIR/tables.md, written by `draco report`): per cluster size
 * and attack, one row per defense with seed-averaged accuracy, the MODELED step breakdown, time
 * to each target and the speedup over the study's reference defense. docs/results.md quotes them.
 */
import { groupBy } from './report/charts.js';
import { escapeHtml } from './report/html.js';
import type { LoadedStudy, ReportRow } from './report/load.js';
import { targetKey } from './results.js';

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Mean modeled seconds to `target` over seeds, or null when a seed never reached it. */
function secondsTo(rows: readonly ReportRow[], target: number): number | null {
  const cells = rows.map((r) => r.cells[`modeledSecondsTo${targetKey(target)}`] ?? '');
  if (cells.some((c) => c === '')) return null;
  return mean(cells.map(Number));
}

function fmt(x: number, digits: number): string {
  return x.toFixed(digits);
}

/** The tables as markdown. */
export function studyTables(study: LoadedStudy): string {
  const { manifest } = study;
  const targets = manifest.targets;
  const reference = manifest.reference;
  const out: string[] = [];
  out.push(`## ${manifest.name}${manifest.quick ? ' (quick)' : ''}`, '');
  out.push(
    `Network (MODELED): ${manifest.network.bandwidthMBps} MB/s PS link, ${manifest.network.latencyMs} ms latency. ` +
      `Values are means over seeds (${[...new Set(study.rows.map((r) => r.seed))].join(', ')}); step times are medians over steps. ` +
      `"modeled s to X%" is the modeled training time until the first evaluation at or above X% test accuracy ` +
      `("-": not reached by every seed).`,
    '',
  );
  const partitions = [...new Set(study.rows.map((r) => r.partition))];
  if (partitions.length > 1) out.push(...heterogeneityTable(study, partitions));
  const groups = groupBy(
    study.rows,
    (r) =>
      `n = ${r.n}, s = ${r.s}, attack ${r.attack} (${r.placement} placement)` +
      (partitions.length > 1 ? `, data ${r.partition}` : ''),
  );
  for (const [title, rows] of groups) {
    out.push(`### ${title}`, '');
    const head = [
      'defense',
      'final acc %',
      'compute ms',
      'comm ms (modeled)',
      'decode/agg ms',
      'modeled step ms',
      'bytes/worker/step',
      ...targets.map((t) => `modeled s to ${fmt(100 * t, 1)}%`),
    ];
    if (reference) for (const t of targets) head.push(`speedup vs ${reference} to ${fmt(100 * t, 1)}%`);
    out.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
    const byDefense = groupBy(rows, (r) => r.defense);
    const refRows = reference ? byDefense.get(reference) : undefined;
    const refTimes = targets.map((t) => (refRows ? secondsTo(refRows, t) : null));
    for (const [defense, rs] of byDefense) {
      const cells = [
        defense,
        fmt(100 * mean(rs.map((r) => r.finalTestAccuracy)), 2),
        fmt(mean(rs.map((r) => r.computeMs)), 1),
        fmt(mean(rs.map((r) => r.commMs)), 1),
        fmt(mean(rs.map((r) => r.decodeMs)), 1),
        fmt(mean(rs.map((r) => Number(r.cells.modeledStepMs))), 1),
        Math.round(mean(rs.map((r) => Number(r.cells.bytesPerWorkerPerStep)))).toLocaleString('en-US'),
        ...targets.map((t) => {
          const s = secondsTo(rs, t);
          return s === null ? '-' : fmt(s, 2);
        }),
      ];
      if (reference) {
        targets.forEach((t, i) => {
          const mine = secondsTo(rs, t);
          const ref = refTimes[i];
          cells.push(mine !== null && ref !== null ? `${fmt(ref / mine, 2)}x` : '-');
        });
      }
      out.push(`| ${cells.join(' | ')} |`);
    }
    out.push('');
  }
  if (study.aggregationCost) {
    const pts = study.aggregationCost.points;
    const ns = [...new Set(pts.map((p) => p.n))].sort((a, b) => a - b);
    out.push(`### PS aggregation cost vs n (d = ${pts[0]?.d ?? ''}, median ms)`, '');
    out.push(`| rule | ${ns.map((n) => `n = ${n}`).join(' | ')} |`, `|---|${ns.map(() => '---').join('|')}|`);
    for (const [rule, ps] of groupBy(pts, (p) => p.rule)) {
      const cells = ns.map((n) => {
        const p = ps.find((q) => q.n === n);
        return p ? fmt(p.medianMs, 2) : '-';
      });
      out.push(`| ${rule} | ${cells.join(' | ')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

/**
 * Per cluster: each defense's worst final accuracy over the attacks (mean over seeds) per data
 * layout, then its drop from the first layout (iid) to each other one, in percentage points.
 */
function heterogeneityTable(study: LoadedStudy, partitions: readonly string[]): string[] {
  const out: string[] = [];
  for (const [cluster, rows] of groupBy(study.rows, (r) => `n = ${r.n}, s = ${r.s}`)) {
    // The layouts this cluster ran, in the study's order.
    const mine = partitions.filter((p) => rows.some((r) => r.partition === p));
    if (mine.length < 2) continue;
    const base = mine[0];
    const others = mine.slice(1);
    out.push(
      `### Worst final accuracy over the attacks (%), ${cluster}`,
      '',
      `Each cell: the lowest, over the attacks (${[...new Set(rows.map((r) => r.attack))].join(', ')}), of the ` +
        `final test accuracy averaged over seeds. "drop": percentage points lost from ${base} to that layout.`,
      '',
    );
    const head = ['defense', ...mine, ...others.map((p) => `drop ${base} → ${p}`)];
    out.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
    for (const [defense, rs] of groupBy(rows, (r) => r.defense)) {
      const worst = mine.map((p) => {
        const accs = [
          ...groupBy(
            rs.filter((r) => r.partition === p),
            (r) => r.attack,
          ).values(),
        ].map((g) => mean(g.map((r) => r.finalTestAccuracy)));
        return accs.length > 0 && accs.every(Number.isFinite) ? 100 * Math.min(...accs) : NaN;
      });
      const cell = (x: number, digits: number) => (Number.isFinite(x) ? fmt(x, digits) : '-');
      out.push(
        `| ${[
          defense,
          ...worst.map((w) => cell(w, 2)),
          ...others.map((_, i) => cell(worst[0] - worst[i + 1], 2)),
        ].join(' | ')} |`,
      );
    }
    out.push('');
  }
  return out;
}

/** The same tables as HTML (headings, paragraphs and pipe tables are all studyTables writes). */
export function studyTablesHtml(markdown: string): string {
  const html: string[] = [];
  const cells = (line: string) =>
    line
      .slice(1, -1)
      .split('|')
      .map((c) => c.trim());
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('### ')) html.push(`<h3>${escapeHtml(line.slice(4))}</h3>`);
    else if (line.startsWith('## '))
      continue; // the page has its own title
    else if (line.startsWith('|')) {
      const head = cells(line);
      i++; // the |---| line
      const body: string[][] = [];
      while (i + 1 < lines.length && lines[i + 1].startsWith('|')) body.push(cells(lines[++i]));
      html.push(
        '<table class="summary"><thead><tr>' +
          head.map((h) => `<th>${escapeHtml(h)}</th>`).join('') +
          '</tr></thead><tbody>' +
          body.map((r) => '<tr>' + r.map((c) => `<td>${escapeHtml(c)}</td>`).join('') + '</tr>').join('') +
          '</tbody></table>',
      );
    } else if (line.trim() !== '') html.push(`<p>${escapeHtml(line)}</p>`);
  }
  return html.join('\n');
}
