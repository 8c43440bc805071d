import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installStubHost, SLEEPING_COMPOSE } from '../support/host-root.ts';

/**
 * Ctrl-C on a `releng compose` that is running a host command: the command's process is killed,
 * the lane lock released, the execution recorded ABORTED, and one line says how to rerun it.
 * A real `releng` process gets the SIGINT; the host's compose only sleeps.
 */
const RELENG = fileURLToPath(new URL('../../bin/releng.mjs', import.meta.url));
let root: string;

const releng = (...args: string[]) =>
  spawnSync(process.execPath, [RELENG, ...args, '--root', root], { encoding: 'utf8', timeout: 120_000 });
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'releng-interrupt-'));
  // The first session installs releng-host on the root; then a host whose compose only sleeps.
  releng('doctor');
  await installStubHost(root, SLEEPING_COMPOSE);
}, 180_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('Ctrl-C during a host command', () => {
  it('stops the execution, kills the host command, releases the lock and says how to rerun', {
    timeout: 180_000,
  }, async () => {
    const child = spawn(
      process.execPath,
      [RELENG, 'compose', '--major', '8', '--compose', 'Rocky', '--name', 'interrupted-1', '--root', root],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout.on('data', () => {});
    const pidFile = join(root, 'compose.pid');
    let pid = 0;
    for (let i = 0; i < 1200 && !pid; i++) {
      pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
      if (!pid) await new Promise((r) => setTimeout(r, 100));
    }
    expect(pid, stderr.slice(-2000)).toBeGreaterThan(0);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((done) => child.on('close', done));

    expect(code).toBe(130);
    expect(stderr).toContain('rerun it with: releng rerun interrupted-1');
    expect(alive(pid)).toBe(false);
    const status = JSON.parse(releng('status', '--json').stdout.trim().split('\n').at(-1)!);
    expect(status.locks).toEqual([]);
    expect(status.executions.find((e: { name: string }) => e.name === 'interrupted-1')).toMatchObject({
      status: 'ABORTED',
    });
  });
});
