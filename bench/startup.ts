/**
 * Start-up of the two commands against a bare `node -e 0`, measured side by side: each round
 * runs every command once, in turn, and the figure is the median of the rounds.
 * Usage: npx tsx bench/startup.ts [--runs 15] [--baseline DIR]
 * --baseline DIR: also time DIR's bin/*.mjs, e.g. a checkout of the commit before the bundles
 * (`git archive <commit> | tar -x -C DIR`, with node_modules linked in).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildBundle, ensureBundles, freshBundle } from '../bin/bundle.mjs';

const PROJECT = fileURLToPath(new URL('../', import.meta.url));
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '15' }, baseline: { type: 'string' } },
});
const runs = Number(values.runs);

/** The TypeScript entry run the way bin/*.mjs did before the bundles: compiled by tsx at start. */
const throughTsx = (entry: string, argv: string[]) => [
  '--input-type=module',
  '-e',
  `import { register } from 'tsx/esm/api'; register(); const { main } = await import('./${entry}'); process.exitCode = await main(${JSON.stringify(argv)});`,
];

const COMMANDS: Record<string, string[]> = {
  'node -e 0': ['-e', '0'],
  'releng --help': ['bin/releng.mjs', '--help'],
  'releng-host doctor --help': ['bin/releng-host.mjs', 'doctor', '--help'],
  'releng-host --help': ['bin/releng-host.mjs', '--help'],
  'tsx: releng --help': throughTsx('cli/main.ts', ['--help']),
  'tsx: releng-host doctor --help': throughTsx('host/main.ts', ['doctor', '--help']),
  ...(values.baseline
    ? {
        'baseline: releng --help': [join(values.baseline, 'bin/releng.mjs'), '--help'],
        'baseline: releng-host doctor --help': [
          join(values.baseline, 'bin/releng-host.mjs'),
          'doctor',
          '--help',
        ],
      }
    : {}),
};

function timeOnce(args: string[]): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd: PROJECT, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  await ensureBundles();
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(COMMANDS).map((k) => [k, []]));
  for (const args of Object.values(COMMANDS)) timeOnce(args); // warm the page cache
  for (let round = 0; round < runs; round++) {
    for (const [name, args] of Object.entries(COMMANDS)) samples[name]!.push(timeOnce(args));
  }
  const bare = median(samples['node -e 0']!);
  console.log(`| command | median of ${runs} | vs node -e 0 |`);
  console.log('|---|---|---|');
  for (const [name, xs] of Object.entries(samples)) {
    console.log(`| ${name} | ${median(xs).toFixed(0)} ms | ${(median(xs) / bare).toFixed(1)}x |`);
  }
  // The freshness check every start pays, and the rebuild the first start after an edit pays.
  const checks: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    if (!freshBundle('releng') || !freshBundle('releng-host')) throw new Error('a bundle went stale');
    checks.push(performance.now() - started);
  }
  const builds: number[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    await buildBundle('releng');
    await buildBundle('releng-host');
    builds.push(performance.now() - started);
  }
  console.log(
    `\nfreshness check of both stamps (stat per source file): median ${median(checks).toFixed(1)} ms`,
  );
  console.log(`rebuild of both bundles (esbuild, in-process): median ${median(builds).toFixed(0)} ms`);
}

await main();
