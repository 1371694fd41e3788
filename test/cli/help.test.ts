/**
 * Every command's --help reads as prose (issue 15): paragraphs wrapped evenly, example lines never
 * broken, and `draco ps` described as the parameter server, not as `draco train`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { BIN } from '../cluster/procs.js';

function paths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => [[...prefix, c.name()], ...paths(c, [...prefix, c.name()])]);
}

function help(path: string[]): string {
  const r = spawnSync(process.execPath, [BIN, ...path, '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** Lines of prose cut short before the paragraph ends, and example lines broken in two. */
export function raggedLines(text: string): string[] {
  const lines = text.split('\n');
  const bad: string[] = [];
  // The description: from the line after "Usage:" to the first section ("Options:", "Arguments:").
  const end = lines.findIndex((l, i) => i > 0 && /^[A-Z][A-Za-z ]*:$/.test(l));
  for (let i = 1; i < (end < 0 ? lines.length : end) - 1; i++) {
    const [line, next] = [lines[i], lines[i + 1]];
    if (line.trim() === '' || next.trim() === '' || /^\s/.test(line) || /^\s/.test(next)) continue;
    if (line.length < 55) bad.push(`short line inside a paragraph: "${line}"`);
  }
  // Anywhere: an indented example followed by an unindented fragment of it.
  for (let i = 1; i < lines.length; i++) {
    const [prev, line] = [lines[i - 1], lines[i]];
    if (/^ {2}\S/.test(prev) && /^[a-z0-9.\-/]/.test(line))
      bad.push(`broken example line: "${prev}" / "${line}"`);
  }
  return bad;
}

describe('draco --help', () => {
  const all = [[], ...paths(buildProgram())];

  test('the checker finds what it looks for', () => {
    assert.equal(
      raggedLines('Usage: x\n\nA sentence that ends early.\nAnd goes on here.\n\nOptions:\n').length,
      1,
    );
    assert.equal(
      raggedLines('Usage: x\n\nExamples:\n  draco aggregate --rule median --out\nagg.npy\n').length,
      1,
    );
  });

  test('every command: paragraphs wrap evenly, examples are never broken', () => {
    assert.ok(all.length >= 14, all.map((p) => p.join(' ')).join(', '));
    const found = all.flatMap((p) => raggedLines(help(p)).map((b) => `draco ${p.join(' ')}: ${b}`));
    assert.deepEqual(found, []);
  });

  test('draco ps describes the parameter server and shows its own examples', () => {
    const ps = help(['ps']);
    assert.match(ps, /parameter server/);
    assert.doesNotMatch(ps, /simulated cluster/);
    assert.doesNotMatch(ps, /^\s+draco train/m);
    assert.doesNotMatch(ps, /--engine </, 'ps always runs the remote engine');
    assert.match(ps, /--bind <addr>/);
    assert.match(help(['train']), /^\s+draco train --config job\.yaml/m);
  });

  test('a reader that stops early (| head) gets no stack trace', () => {
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" train --help | head -1`], {
      encoding: 'utf8',
    });
    assert.equal(r.stdout, 'Usage: draco train [options]\n');
    assert.equal(r.stderr, '');
  });

  test('bench transport shows its default sizes in MB, as it takes them', () => {
    assert.match(help(['bench', 'transport']), /--sizes <MB,...>.*\(default: 0\.4,4,16\)/s);
  });
});
