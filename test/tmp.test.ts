/**
 * The suite leaves nothing in the OS temporary directory (issue 15): test files run with TMPDIR
 * pointing at an empty folder, which must be empty again when they end, also when a test fails.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from './tmp.js';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

function runIn(tmp: string, files: string[]): { code: number | null; out: string } {
  // Without NODE_TEST_CONTEXT: the child is a test run of its own, not a subtest of this one.
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, ['--test', ...files], { encoding: 'utf8', timeout: 300_000, env });
  return { code: r.status, out: r.stdout + r.stderr };
}

test('test files that make temporary folders leave none behind, passing or failing', () => {
  const tmp = tempDir('draco-tmpcheck-');
  const fixtures = tempDir('draco-tmpfixture-');
  const failing = join(fixtures, 'failing.test.mjs');
  writeFileSync(
    failing,
    `import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from ${JSON.stringify(here('./tmp.js'))};
test('fails after making folders', () => {
  writeFileSync(join(tempDir('a-'), 'f'), 'x');
  writeFileSync(join(tempDir('b-'), 'f'), 'x');
  throw new Error('on purpose');
});
`,
  );
  let r = runIn(tmp, [failing]);
  assert.equal(r.code, 1, r.out); // it failed...
  assert.deepEqual(readdirSync(tmp), []); // ...and cleaned up
  r = runIn(tmp, [here('./data/files.test.js'), here('./schemes/detox.test.js'), here('./cli/cli.test.js')]);
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(readdirSync(tmp), []);
});
