/** `draco list`: every registered model, dataset, scheme, aggregator, attack, placement and partitioner. */
import { Command } from 'commander';
import { formatDefaults } from '../core/spec.js';
import { aggregators, preAggregators } from '../aggregators/registry.js';
import { placements } from '../attacks/placement.js';
import { attacks } from '../attacks/registry.js';
import { listDatasets } from '../data/registry.js';
import { getModelDef, listModels } from '../models/registry.js';
import { schemes } from '../schemes/registry.js';
import { partitioners } from '../data/partition/registry.js';
import { loadPlugins } from '../build/plugins.js';

export function listCommand(): Command {
  return new Command('list')
    .summary('list models, datasets, schemes, aggregators, attacks, placements, partitions')
    .option(
      '--plugin <file>',
      "also list this plugin's components (repeatable; docs/plugins.md)",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .action(async (o: { plugin?: string[] }) => {
      await loadPlugins(o.plugin ?? []);
      const lines: string[] = [];
      const section = (title: string, rows: [string, string][]) => {
        lines.push(`${title}:`);
        const w = Math.max(...rows.map((r) => r[0].length));
        for (const [name, desc] of rows) lines.push(`  ${name.padEnd(w)}  ${desc}`);
      };
      section(
        'models',
        listModels().map((m) => [m, getModelDef(m).description]),
      );
      section(
        'datasets',
        listDatasets().map((d) => [d.name, d.description]),
      );
      section(
        'schemes',
        schemes.entries().map(([n, s]) => [n, s.description]),
      );
      section(
        'aggregators',
        aggregators.entries().map(([n, a]) => {
          const params = formatDefaults(a.defaults);
          return [params ? `${n}:${params}` : n, a.description];
        }),
      );
      section(
        'pre-aggregators',
        preAggregators.entries().map(([n, a]) => {
          const params = formatDefaults(a.defaults);
          return [params ? `${n}:${params}` : n, a.description];
        }),
      );
      section(
        'attacks',
        attacks.entries().map(([n, a]) => {
          const params = formatDefaults(a.defaults);
          return [params ? `${n}:${params}` : n, a.description];
        }),
      );
      section(
        'placements',
        placements.entries().map(([n, p]) => [n, p.description]),
      );
      section(
        'partitions (--partition)',
        partitioners.entries().map(([n, p]) => {
          const params = formatDefaults(p.defaults);
          return [params ? `${n}:${params}` : n, p.description];
        }),
      );
      process.stdout.write(lines.join('\n') + '\n');
    });
}
