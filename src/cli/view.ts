/** `draco view DIR`: the dashboard of a finished run folder or a study folder, until Ctrl-C. */
import { Command, Option } from 'commander';
import { DashboardServer } from '../dashboard/server.js';
import { folderSource } from '../dashboard/sources.js';
import { DEFAULT_DASHBOARD_PORT, parsePort } from './train.js';

export function viewCommand(): Command {
  return new Command('view')
    .summary('show a run or a study folder in the dashboard')
    .description(
      'Serve the dashboard (docs/dashboard.md) of a run folder (the --out DIR of draco train: metrics.jsonl, ' +
        'summary.json) or of a study folder (draco experiment --out DIR: its runs side by side, one shown in ' +
        'full), then wait until Ctrl-C. A run still writing shows its latest steps when the page is reloaded.',
    )
    .argument('<dir>', 'run folder or study folder')
    .addOption(
      new Option('--port <port>', `port to serve on (0: any free port)`)
        .default(DEFAULT_DASHBOARD_PORT)
        .argParser(parsePort),
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .addHelpText(
      'after',
      `
Examples:
  draco train --out runs/a --steps 200 && draco view runs/a
  draco view results/draco-vs-median --port 0`,
    )
    .action(async (dir: string, opts: { port: number; host: string }) => {
      const server = new DashboardServer(folderSource(dir));
      const url = await server.listen({ host: opts.host, port: opts.port });
      process.stderr.write(`draco view: ${dir} at ${url} (Ctrl-C to stop)\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void server.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
