/**
 * `--dataset csv --data-dir DIR`: train.csv and test.csv (docs/data.md). Comma-separated numeric
 * columns, the integer class label in the last; an optional header row (a first row with a
 * non-numeric field); blank lines ignored. Features become float32 samples of shape [columns - 1].
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../core/errors.js';
import { ioReason } from '../core/files.js';
import { datasetFromParts, type ArraySplit } from './arrays.js';
import type { Dataset } from './types.js';

function parseCsv(path: string): { split: ArraySplit; columns: number } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${path}: cannot read it (${ioReason(e)})`);
  }
  const lines = text.split(/\r?\n/);
  let columns = -1;
  const xs: number[] = [];
  const ys: number[] = [];
  let first = true;
  for (let li = 0; li < lines.length; li++) {
    const line = lines[li].trim();
    if (line === '') continue;
    const fields = line.split(',').map((f) => f.trim());
    const nums = fields.map((f) => (f === '' ? NaN : Number(f)));
    if (first) {
      first = false;
      if (nums.some((v) => Number.isNaN(v))) {
        columns = fields.length; // a header
        continue;
      }
    }
    if (columns < 0) columns = fields.length;
    if (fields.length !== columns)
      throw new UsageError(`${path}: line ${li + 1} has ${fields.length} columns, want ${columns}`);
    if (columns < 2) throw new UsageError(`${path}: needs at least one feature column and the label column`);
    for (let c = 0; c < columns; c++)
      if (!Number.isFinite(nums[c]))
        throw new UsageError(
          `${path}: line ${li + 1}, column ${c + 1}: '${fields[c]}' is not a finite number`,
        );
    for (let c = 0; c < columns - 1; c++) xs.push(nums[c]);
    ys.push(nums[columns - 1]);
  }
  if (ys.length === 0) throw new UsageError(`${path}: no data rows`);
  return { split: { x: Float32Array.from(xs), y: ys }, columns };
}

export function loadCsvDir(dir: string): Dataset {
  const missing = ['train.csv', 'test.csv'].filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) throw new UsageError(`dataset csv: ${dir} lacks ${missing.join(', ')}`);
  const tr = parseCsv(join(dir, 'train.csv'));
  const te = parseCsv(join(dir, 'test.csv'));
  if (tr.columns !== te.columns)
    throw new UsageError(`${join(dir, 'test.csv')}: ${te.columns} columns, train.csv has ${tr.columns}`);
  return datasetFromParts(
    'csv',
    [tr.columns - 1],
    tr.split,
    te.split,
    (s, part) => join(dir, `${s}.csv`) + (part === 'y' ? ' (label column)' : ''),
  );
}
