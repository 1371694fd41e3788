#!/usr/bin/env node
// Entry point for `npx draco`: the compiled CLI lives in dist/ (built by `npm install`).
import { main } from '../dist/src/cli/main.js';

// A reader that stops early (`draco train --help | head`) closes the pipe: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
