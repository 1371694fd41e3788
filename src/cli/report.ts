/**
 * `draco report DIR...`: the HTML report and charts of a study folder written by `draco
 * experiment`, or of one or more run folders written by `draco train --out`.
 */
import { isAbsolute, relative } from 'node:path';
import { Command } from 'commander';
import { UsageError } from '../core/errors.js';

export function reportCommand(): Command {
  return new Command('report')
    .summary('write an HTML report with charts for a study folder or draco train runs')
    .description(
      [
        'Reads the study folder DIR that `draco experiment` writes:',
        '  DIR/study.json               name, description, quick or full, network model',
        '  DIR/results.csv              one row per finished run',
        '  DIR/runs/<id>/metrics.jsonl  one record per step (test accuracy if evaluated)',
        '  DIR/aggregation-cost.csv     optional: PS aggregation time vs n, per rule',
        '',
        'Or reads run folders written by `draco train --out` (summary.json and',
        'metrics.jsonl) and compares them the same way: one run, or several (then',
        'give --out).',
        '',
        'Writes DIR/report.html (or --out FILE): one self-contained page, with inline',
        'charts and styles, no scripts, that opens offline; and each chart as SVG and',
        'PNG under charts/ beside the page:',
        '  accuracy-vs-step          test accuracy vs steps trained, per defense',
        '  accuracy-vs-modeled-time  test accuracy vs MODELED training time (s)',
        '  time-breakdown            per-step compute, encode, communication (modeled),',
        '                            decode/aggregate, update, per defense',
        '  final-accuracy-heatmap    final test accuracy, attack x defense',
        '  aggregation-cost          PS aggregation time vs n, log scale (from',
        "                            aggregation-cost.csv, else the runs' decode time)",
        'Runs differing only by seed are averaged. A chart without data is left out',
        'with a sentence saying why. Modeled times come from the time model (measured',
        'in-process compute plus a modeled network), not from a real cluster, and are',
        'labeled "modeled" wherever they appear. Rerun any time: unfinished runs are',
        'not in results.csv yet.',
        '',
        'Examples:',
        '  draco report out/study                   # out/study/report.html + charts/',
        '  draco report out/study --out /tmp/r.html # charts go to /tmp/charts/',
        '  draco report runs/lenet                  # one draco train --out folder',
        '  draco report runs/a runs/b --out cmp.html  # several runs side by side',
      ].join('\n'),
    )
    .argument('<DIR...>', 'a study folder (draco experiment), or run folders (draco train --out)')
    .option(
      '--out <FILE>',
      'where to write the HTML page (default DIR/report.html); charts go to charts/ beside it',
    )
    .action(async (dirs: string[], o: { out?: string }) => {
      if (dirs.length > 1 && o.out === undefined)
        throw new UsageError(
          `${dirs.length} run folders: give --out FILE for the page (each run folder stays as it is)`,
        );
      // Loaded on use: vega, vega-lite and resvg take about a second to import.
      const { writeReport, writeReportFor, loadRuns } = await import('../experiment/report/index.js');
      const result =
        dirs.length === 1
          ? await writeReport(dirs[0], { out: o.out })
          : await writeReportFor(loadRuns(dirs), { out: o.out });
      const drawn = result.charts.filter((c) => c.omitted === undefined);
      const omitted = result.charts.filter((c) => c.omitted !== undefined);
      const show = (p: string) => {
        const rel = relative(process.cwd(), p);
        return rel === '' ? '.' : isAbsolute(rel) || rel.startsWith('..') ? p : rel;
      };
      const lines = [
        `draco report: ${show(result.htmlPath)} (${drawn.length} chart${drawn.length === 1 ? '' : 's'}, SVG and PNG in ${show(result.chartsDir)})`,
      ];
      for (const c of omitted) lines.push(`  omitted ${c.name}: ${c.omitted}`);
      process.stdout.write(lines.join('\n') + '\n');
    });
}
