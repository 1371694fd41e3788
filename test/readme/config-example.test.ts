/**
 * README's config example, taken from README.md itself and run as README shows it: it must learn
 * (it once ended at chance, 11.35%, because the default learning rate diverged for lenet).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { BIN } from '../cluster/procs.js';
import { tempDir } from '../tmp.js';

const README = fileURLToPath(new URL('../../../README.md', import.meta.url));

/** The `cat > job.yaml <<'YAML' ... YAML` block and the `npx draco train` line that follows it. */
export function configExample(readme: string): { yaml: string; args: string[] } {
  const m = /cat > job\.yaml <<'YAML'\n([\s\S]*?)\nYAML\n(npx draco train [^\n]*)/.exec(readme);
  if (m === null) throw new Error('README.md has no job.yaml example followed by npx draco train');
  return { yaml: m[1], args: m[2].split(/\s+/).slice(2) };
}

test("README's config example learns above 90% in its documented steps", () => {
  const tmp = tempDir('draco-readme-');
  const { yaml, args } = configExample(readFileSync(README, 'utf8'));
  writeFileSync(join(tmp, 'job.yaml'), yaml + '\n');
  const out = args.indexOf('--out');
  assert.ok(out > 0, `the example writes its outputs: ${args.join(' ')}`);
  args[out + 1] = join(tmp, 'run');
  const r = spawnSync(process.execPath, [BIN, ...args, '--quiet'], {
    cwd: tmp,
    encoding: 'utf8',
    timeout: 600_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(readFileSync(join(tmp, 'run', 'summary.json'), 'utf8')) as {
    finalTestAccuracy: number;
    steps: number;
    config: { model: string; lr: number };
  };
  assert.equal(s.steps, Number(/steps: (\d+)/.exec(yaml)![1]));
  assert.ok(s.finalTestAccuracy > 0.9, `${s.config.model} at lr ${s.config.lr}: ${s.finalTestAccuracy}`);
});
