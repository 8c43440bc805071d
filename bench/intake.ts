/**
 * Intake benchmarks: koji-events throughput in-process, and each Lambda's bundle size and
 * cold-start import time. Run: `npx tsx bench/intake.ts [messages]`.
 *
 * Throughput is compared with a baseline in the same process: JSON.parse of the same bodies,
 * the least any handler must do. Cold-start import time is a fresh `node` importing the bundle,
 * less a bare `node -e ''` (the median of 5 each).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SQSRecord } from 'aws-lambda';
import { build } from 'esbuild';
import { DryRunExecutionStarter, DryRunLaneStateStore } from '../cli/local/executions.ts';
import { createKojiEventsHandler } from '../functions/koji-events/process.ts';
import { buildConfig } from '../shared/config/load.ts';
import type { LaneStateStore, LockStore } from '../shared/ports.ts';
import { LAMBDA_ENV } from '../shared/runtime-env.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
const FUNCTIONS = ['koji-events', 'promotion-events', 'approval-request', 'efs-preflight'];
const BUNDLE_LIMIT = 500 * 1024;

const TAGS = [
  'dist-rocky8-updates-build',
  'dist-rocky8-extras-build',
  'dist-rocky8-plus-build',
  'dist-rocky9-updates-build',
];

function bodies(count: number): string[] {
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      topic: i % 7 === 0 ? 'buildsys.untag' : 'buildsys.tag',
      body: {
        tag: { name: TAGS[i % TAGS.length] },
        build: {
          name: `pkg${i % 500}`,
          version: '1.0',
          release: `${i}.el8`,
          nvr: `pkg${i % 500}-1.0-${i}.el8`,
        },
        user: { name: 'kojira' },
      },
    }),
  );
}

const record = (i: number, body: string) =>
  ({ messageId: `m${i}`, body, attributes: {} }) as unknown as SQSRecord;

const noLocks: LockStore = {
  acquire: async () => ({ acquired: true }),
  release: async () => {},
  holder: async () => undefined,
  list: async () => [],
};

/** Lane state held in memory, optionally starting with `seeded` NVRs per lane (a real tag's size). */
function memoryLanes(seeded: number): LaneStateStore {
  const seed: LaneStateStore = {
    get: async (laneId) => ({
      laneId,
      nvrs: Array.from({ length: seeded }, (_, i) => `old${i}-1-1.el8`).sort(),
      started: [],
    }),
    applyTagChanges: async () => {
      throw new Error('not reached');
    },
    addRequesters: async () => {},
    requesters: async () => [],
    recordStarted: async () => {},
    recordSucceeded: async () => {},
  };
  return new DryRunLaneStateStore(seed);
}

/** Messages per second through the koji-events handler (parse, route, coalesce) in batches of 10. */
async function handlerRate(
  messages: string[],
  lanes: LaneStateStore,
): Promise<{ perSecond: number; ms: number; started: number }> {
  const starter = new DryRunExecutionStarter();
  const quiet = { info() {}, warn() {}, error() {} };
  const handler = createKojiEventsHandler(
    { config: buildConfig(), lanes, locks: noLocks, starter, clock: { now: () => new Date() } },
    quiet,
  );
  const t = performance.now();
  for (let i = 0; i < messages.length; i += 10) {
    await handler({ Records: messages.slice(i, i + 10).map((b, j) => record(i + j, b)) });
  }
  const ms = performance.now() - t;
  return { perSecond: Math.round(messages.length / (ms / 1000)), ms, started: starter.wouldStart.length };
}

async function throughput(count: number) {
  const messages = bodies(count);
  let t = performance.now();
  let parsed = 0;
  for (const body of messages) parsed += JSON.parse(body) ? 1 : 0;
  const baselineMs = performance.now() - t;
  t = performance.now();
  const stateless: LaneStateStore = {
    get: async () => undefined,
    applyTagChanges: async (laneId) => ({ laneId, nvrs: [], started: [] }),
    recordStarted: async () => {},
    recordSucceeded: async () => {},
    addRequesters: async () => {},
    requesters: async () => [],
  };
  const handlerOnly = await handlerRate(messages, stateless);
  const empty = await handlerRate(messages, memoryLanes(0));
  const seeded = await handlerRate(messages, memoryLanes(5000));
  return {
    messages: parsed,
    baselineJsonParsePerSecond: Math.round(count / (baselineMs / 1000)),
    statelessLanes: {
      perSecond: handlerOnly.perSecond,
      ratioToBaseline: +(handlerOnly.ms / baselineMs).toFixed(1),
      started: handlerOnly.started,
    },
    emptyLanes: {
      perSecond: empty.perSecond,
      ratioToBaseline: +(empty.ms / baselineMs).toFixed(1),
      started: empty.started,
    },
    lanesOf5000Nvrs: {
      perSecond: seeded.perSecond,
      ratioToBaseline: +(seeded.ms / baselineMs).toFixed(1),
      started: seeded.started,
    },
  };
}

function medianMs(runs: number, fn: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return +times.sort((a, b) => a - b)[Math.floor(runs / 2)]!.toFixed(0);
}

/**
 * The Node 24 Lambda runtime ships the AWS SDK v3, and CDK's NodejsFunction leaves `@aws-sdk/*`
 * out of the bundle for it by default: that bundle is what is deployed and what the 500 KB limit
 * is checked on. The fully bundled size (SDK inside) is reported beside it.
 */
const VARIANTS = { runtimeSdk: ['@aws-sdk/*'], sdkBundled: [] as string[] };

async function bundles() {
  // Under node_modules so a bundle that leaves the SDK out resolves it, as the runtime would.
  const cache = join(repo, 'node_modules', '.cache');
  await mkdir(cache, { recursive: true });
  const dir = await mkdtemp(join(cache, 'releng-bench-'));
  const env = {
    ...process.env,
    AWS_REGION: 'eu-west-1',
    [LAMBDA_ENV.composeStateMachineArn]: 'arn:aws:states:eu-west-1:111111111111:stateMachine:compose',
    [LAMBDA_ENV.promotionStateMachineArn]: 'arn:aws:states:eu-west-1:111111111111:stateMachine:promotion',
    [LAMBDA_ENV.stateTable]: 'releng-state',
    [LAMBDA_ENV.notificationTopicArn]: 'arn:aws:sns:eu-west-1:111111111111:approvals',
  };
  const node = process.execPath;
  const bareNodeMs = medianMs(5, () => execFileSync(node, ['-e', ''], { env }));
  const results = [];
  try {
    for (const name of FUNCTIONS) {
      const row: Record<string, unknown> = { name };
      for (const [variant, external] of Object.entries(VARIANTS)) {
        const outfile = join(dir, `${name}-${variant}.mjs`);
        await build({
          entryPoints: [join(repo, 'functions', name, 'handler.ts')],
          bundle: true,
          minify: true,
          platform: 'node',
          format: 'esm',
          target: 'node24',
          external,
          outfile,
          logLevel: 'silent',
          banner: {
            js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
          },
        });
        const loader = join(dir, `load-${name}-${variant}.mjs`);
        await writeFile(loader, `await import(${JSON.stringify(outfile)});`);
        const importMs = medianMs(5, () => execFileSync(node, [loader], { env, stdio: 'ignore' }));
        row[variant] = {
          kiB: +((await stat(outfile)).size / 1024).toFixed(1),
          coldImportMs: importMs - bareNodeMs,
        };
      }
      row.underLimit = (row.runtimeSdk as { kiB: number }).kiB * 1024 < BUNDLE_LIMIT;
      results.push(row);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { bareNodeMs, functions: results };
}

const count = Number(process.argv[2] ?? 20_000);
const result = { throughput: await throughput(count), bundles: await bundles() };
console.log(JSON.stringify(result, null, 1));
if (result.bundles.functions.some((f) => !f.underLimit)) process.exitCode = 1;
