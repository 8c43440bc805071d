/**
 * `npx tsx bench/demo.ts [--runs N] [--ga]`: times (with --ga: `releng demo --ga --release 8.10`) `releng demo --yes --json` as `npm run demo` runs it
 * (a fresh process on a fresh root), broken down by step, and compares the pipeline's wall time
 * with the time its host operations took (from the step logs): the ratio is what the engine,
 * the state machines' polling and the Lambdas add on top of the real work.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const RELENG = fileURLToPath(new URL('../bin/releng.mjs', import.meta.url));

interface DemoJson {
  ok: boolean;
  timings: Record<string, number>;
  executions: Array<{ name: string; status: string; seconds: number }>;
}

/**
 * CPU seconds (user + system) of the children this process has waited for, and theirs: the
 * demo's node and every process it ran. Linux only (/proc/self/stat cutime, cstime).
 */
async function childrenCpuSeconds(): Promise<number> {
  const stat = await readFile('/proc/self/stat', 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 of stat (cutime, cstime) are 13 and 14 after the command name, in ticks.
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

function run(root: string, ga: boolean): Promise<{ wall: number; result: DemoJson }> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [RELENG, 'demo', '--yes', '--json', '--root', root, ...(ga ? ['--ga', '--release', '8.10'] : [])],
      { maxBuffer: 64 << 20 },
      (err, stdout) => {
        const wall = Number(process.hrtime.bigint() - start) / 1e9;
        const last = stdout.trim().split('\n').at(-1) ?? '';
        if (err && !last.startsWith('{')) return reject(err);
        resolve({ wall, result: JSON.parse(last) as DemoJson });
      },
    );
  });
}

/** Seconds the host operations ran, from the `[exit N after S s]` / `[Success after S s]` line each step log ends with. */
async function hostSeconds(root: string): Promise<number> {
  let total = 0;
  const executions = join(root, 'engine', 'executions');
  for (const execution of await readdir(executions)) {
    const logs = join(executions, execution, 'logs');
    for (const file of await readdir(logs).catch(() => [] as string[])) {
      for (const m of (await readFile(join(logs, file), 'utf8')).matchAll(
        /\[(?:exit [0-9]+|[A-Za-z]+) after ([0-9.]+) s\]/g,
      )) {
        total += Number(m[1]);
      }
    }
  }
  return total;
}

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '1' }, ga: { type: 'boolean', default: false } },
});
for (let i = 0; i < Number(values.runs); i++) {
  const root = await mkdtemp(join(tmpdir(), 'releng-bench-demo-'));
  await rm(root, { recursive: true });
  try {
    const cpuBefore = await childrenCpuSeconds();
    const { wall, result } = await run(root, values.ga);
    const cpu = (await childrenCpuSeconds()) - cpuBefore;
    const host = await hostSeconds(root);
    const pipeline = result.timings[values.ga ? 'GA pipeline' : 'pipeline'] ?? 0;
    console.log(
      `run ${i + 1}: ok=${result.ok} wall ${wall.toFixed(1)} s, CPU ${cpu.toFixed(1)} s (npm run demo budget: 120 s)`,
    );
    for (const [step, seconds] of Object.entries(result.timings))
      console.log(`  ${step.padEnd(60)} ${seconds.toFixed(1)} s`);
    console.log(`  host operations (sum of step logs)                           ${host.toFixed(1)} s`);
    console.log(
      `  pipeline / host-operation time                               ${(pipeline / Math.max(host, 0.001)).toFixed(2)}x`,
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
