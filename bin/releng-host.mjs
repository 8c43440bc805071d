#!/usr/bin/env node
// The compose-host entry: the same operations the SSM documents run, with --root for the mounts.
import { register } from 'tsx/esm/api';
import { quietUnwantedWarnings } from './quiet-warnings.mjs';

quietUnwantedWarnings();

register();
// A reader that stops early (`releng status | head`) is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
const { main } = await import('../host/main.ts');
process.exitCode = await main(process.argv.slice(2));
