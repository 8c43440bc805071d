// Runs sync-to-prod in its own process (so a test can kill it), printing progress as it goes.
import { syncToProdWith } from '../../host/operations/sync-to-prod.ts';
import { fixtureDigest } from './fixtures.ts';
import { runOperation } from './run.ts';

const [root, ...args] = process.argv.slice(2);
await runOperation(syncToProdWith(fixtureDigest), root!, args, {}, (line) =>
  process.stderr.write(`${line}\n`),
);
process.stdout.write('done\n');
