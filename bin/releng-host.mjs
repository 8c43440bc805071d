#!/usr/bin/env node
// The compose-host entry: the same operations the SSM documents run, with --root for the mounts.
// Runs from its prebuilt bundle (rebuilt first when a source changed; bin/bundle.mjs).
import { loadEntry } from './bundle.mjs';
import { quietUnwantedWarnings } from './quiet-warnings.mjs';

quietUnwantedWarnings();

// A reader that stops early (`releng status | head`) is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
const { main } = await loadEntry('releng-host');
process.exitCode = await main(process.argv.slice(2));
