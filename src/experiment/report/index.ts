/**
 * `draco report`: turn a study folder (src/experiment/results.ts) into a self-contained HTML page
 * plus one SVG and one PNG per chart under charts/ beside the page.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { UsageError } from '../../core/errors.js';
import { buildCharts, type ChartSpec } from './charts.js';
import { reportHtml, type RenderedChart } from './html.js';
import { loadStudy, type LoadedStudy } from './load.js';
import { renderSvg, svgToPng } from './render.js';
import { studyTables, studyTablesHtml } from '../tables.js';

export { buildCharts } from './charts.js';
export { loadRuns, loadStudy, parseCsv } from './load.js';
export { renderSvg, svgToPng } from './render.js';

export interface ReportOptions {
  /** Where to write the HTML page; default DIR/report.html. Charts go to charts/ beside it. */
  out?: string;
}

export interface ReportChartFile {
  name: string;
  title: string;
  /** Absent when the chart was omitted. */
  svgPath?: string;
  pngPath?: string;
  pngWidth?: number;
  pngHeight?: number;
  omitted?: string;
}

export interface ReportResult {
  htmlPath: string;
  chartsDir: string;
  charts: ReportChartFile[];
}

/**
 * Make the ids of one SVG unique in a page holding several (vega numbers its clip paths and
 * gradients per view, so two charts could both define "clip1").
 */
export function prefixSvgIds(svg: string, prefix: string): string {
  const ids = new Set<string>();
  for (const m of svg.matchAll(/\sid="([^"]+)"/g)) ids.add(m[1]);
  if (ids.size === 0) return svg;
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const alt = [...ids].map(esc).join('|');
  return svg
    .replace(new RegExp(`(\\sid=")(${alt})"`, 'g'), `$1${prefix}-$2"`)
    .replace(new RegExp(`url\\(#(${alt})\\)`, 'g'), `url(#${prefix}-$1)`)
    .replace(new RegExp(`(href=")#(${alt})"`, 'g'), `$1#${prefix}-$2"`);
}

async function renderChart(chart: ChartSpec, chartsDir: string, htmlDir: string) {
  if (chart.spec === undefined) {
    const file: ReportChartFile = { name: chart.name, title: chart.title, omitted: chart.omitted };
    const rendered: RenderedChart = { ...chart };
    return { file, rendered };
  }
  const svg = await renderSvg(chart.spec);
  const { png, width, height } = svgToPng(svg);
  const svgPath = join(chartsDir, `${chart.name}.svg`);
  const pngPath = join(chartsDir, `${chart.name}.png`);
  writeFileSync(svgPath, svg);
  writeFileSync(pngPath, png);
  const inline = prefixSvgIds(svg, chart.name).replace(
    /^<svg /,
    `<svg role="img" aria-label="${chart.title.replace(/[&<>"]/g, '')}" `,
  );
  const rel = (p: string) => relative(htmlDir, p).split('\\').join('/');
  const file: ReportChartFile = {
    name: chart.name,
    title: chart.title,
    svgPath,
    pngPath,
    pngWidth: width,
    pngHeight: height,
  };
  const rendered: RenderedChart = {
    name: chart.name,
    title: chart.title,
    caption: chart.caption,
    svg: inline,
    svgFile: rel(svgPath),
    pngFile: rel(pngPath),
  };
  return { file, rendered };
}

/** Render the charts of an already loaded study and write the page. */
export async function writeReportFor(study: LoadedStudy, options: ReportOptions = {}): Promise<ReportResult> {
  const htmlPath = resolve(options.out ?? join(study.dir, 'report.html'));
  const htmlDir = dirname(htmlPath);
  const chartsDir = join(htmlDir, 'charts');
  try {
    mkdirSync(chartsDir, { recursive: true });
  } catch (err) {
    throw new UsageError(`cannot create ${chartsDir}: ${(err as Error).message}`);
  }
  const files: ReportChartFile[] = [];
  const rendered: RenderedChart[] = [];
  for (const chart of buildCharts(study)) {
    const r = await renderChart(chart, chartsDir, htmlDir);
    files.push(r.file);
    rendered.push(r.rendered);
  }
  const tables = studyTables(study);
  try {
    writeFileSync(join(htmlDir, 'tables.md'), tables);
    writeFileSync(htmlPath, reportHtml(study, rendered, studyTablesHtml(tables)));
  } catch (err) {
    throw new UsageError(`cannot write ${htmlPath}: ${(err as Error).message}`);
  }
  return { htmlPath, chartsDir, charts: files };
}

/**
 * Read the study folder DIR (or a draco train --out folder) and write its report (default
 * DIR/report.html, charts in DIR/charts).
 */
export async function writeReport(dir: string, options: ReportOptions = {}): Promise<ReportResult> {
  return writeReportFor(loadStudy(dir), options);
}
