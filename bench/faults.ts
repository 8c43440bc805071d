/**
 * The full fault loop of guarantee 1 (test/guarantees/faults.test.ts runs 5 of these):
 * sync-to-prod SIGKILLed at a seeded random point of each run while a mirror pulls over rsync
 * from a loopback daemon; each pull checked (repomd names present files with their checksums,
 * .asc verifies), then a rerun to completion, dnf with repo_gpgcheck=1 on the mirror, no file
 * lost. Prints the figures as one JSON object.
 * Run: `npx tsx bench/faults.ts [--runs N] [--seed S] [--control]` (default 20 runs, seed
 * 20261127; the seed can also come from RELENG_FAULT_SEED). `--control` publishes with one
 * plain `rsync -a --delete` instead of sync-to-prod, to show the same checks catch a publish
 * that is not mirror-safe (it is expected to fail them).
 *
 * `--mirror` runs the mirror loop instead: `--publishes N` (default 20) sync-to-prod publishes
 * back to back while a mirror pulls with `releng mirror-pull --bwlimit KBPS` (default 1000)
 * over and over, each pull's mirror checked the same way; with `--control` the mirror pulls with
 * one plain `rsync -a --delete --delay-updates` pass instead (expected to be caught).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_FAULT_SEED, runFaultLoop, runMirrorLoop } from '../test/guarantees/fault-loop.ts';

const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const runs = Number(option('--runs') ?? 20);
const publisher = args.includes('--control') ? 'plain-rsync' : 'sync-to-prod';
const seed = Number(option('--seed') ?? process.env.RELENG_FAULT_SEED ?? DEFAULT_FAULT_SEED);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, not ${runs}`);
if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, not ${seed}`);

const work = await mkdtemp(join(tmpdir(), 'releng-bench-faults-'));
const started = Date.now();
try {
  if (args.includes('--mirror')) {
    const publishes = Number(option('--publishes') ?? 20);
    const bwlimit = Number(option('--bwlimit') ?? 1000);
    if (!Number.isInteger(publishes) || publishes < 1)
      throw new Error(`--publishes must be a positive integer, not ${publishes}`);
    if (!Number.isInteger(bwlimit) || bwlimit < 1) throw new Error(`--bwlimit must be KiB/s, not ${bwlimit}`);
    const puller = args.includes('--control') ? 'plain-rsync' : 'mirror-pull';
    const report = await runMirrorLoop({
      work,
      publishes,
      seed,
      puller,
      bwlimit,
      log: (l) => console.error(l),
    });
    console.log(JSON.stringify({ ...report, wallSeconds: Math.round((Date.now() - started) / 1000) }));
    process.exitCode = report.inconsistentPulls.length + report.atEnd.length > 0 ? 1 : 0;
    process.exit();
  }
  const report = await runFaultLoop({ work, runs, seed, publisher, log: (line) => console.error(line) });
  const failed =
    report.inconsistentPulls.length + report.inconsistentAfterKill.length + report.afterRerun.length > 0;
  console.log(JSON.stringify({ ...report, wallSeconds: Math.round((Date.now() - started) / 1000) }));
  process.exitCode = failed ? 1 : 0;
} finally {
  await rm(work, { recursive: true, force: true });
}
