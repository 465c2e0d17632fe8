#!/usr/bin/env node
/** The `mentionflow` executable: runs cli/program.ts's main on the arguments and exits with its code. */
import { main } from './program.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`mentionflow: ${String(err)}\n`);
    process.exitCode = 70;
  },
);
