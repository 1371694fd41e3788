/** `draco bench dashboard`: the dashboard's cost to a run's step time. */
import { Command } from 'commander';
import { benchDashboard } from '../bench/dashboard.js';
import { positiveInt } from './args.js';

export function benchDashboardCommand(): Command {
  return new Command('dashboard')
    .summary("the live dashboard's cost to the run's step time")
    .description(
      'Train one config (in-process engine) without and with --dashboard, run by run in turn, a page watching the ' +
        'run, and report the median step time of each and their ratio (docs/dashboard.md "Cost"). The page is a ' +
        'stream reader in a process of its own (the PS-side cost), or with --browser chromium rendering the page on this ' +
        'machine (which also competes with the run for the cores).',
    )
    .option('--model <name>', 'model', 'mlp')
    .option('--scheme <name>', 'scheme', 'repetition')
    .option('--steps <k>', 'steps per run', positiveInt, 1500)
    .option('--eval-every <k>', 'evaluate every k steps', positiveInt, 25)
    .option('--runs <k>', 'runs each way (median reported)', positiveInt, 4)
    .option('--browser <path>', 'render the page in this chromium (needs playwright-core)')
    .option('--json', 'one JSON object instead of a table')
    .action(
      async (o: {
        model: string;
        scheme: string;
        steps: number;
        evalEvery: number;
        runs: number;
        browser?: string;
        json?: boolean;
      }) => {
        const r = await benchDashboard(
          { model: o.model, scheme: o.scheme, steps: o.steps, evalEvery: o.evalEvery },
          o.runs,
          o.browser,
        );
        if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
        else
          process.stdout.write(
            `median step ms: ${r.offMs.toFixed(2)} without, ${r.onMs.toFixed(2)} with the dashboard ` +
              `(${o.browser !== undefined ? 'chromium rendering' : 'a stream reader process'}; ratio ${r.ratio.toFixed(3)}, ` +
              `${r.runs} runs each)` +
              (o.browser === undefined ? `; ${Math.round(r.bytesPerStep)} bytes streamed per step` : '') +
              `; same model: ${r.sameModel ? 'yes' : 'NO'}\n`,
          );
      },
    );
}
