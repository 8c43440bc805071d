#!/usr/bin/env node
// The compose-host entry: the same operations the SSM documents run, with --root for the mounts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../host/main.ts');
process.exitCode = await main(process.argv.slice(2));
