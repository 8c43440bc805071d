import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * A held lock on a bad day, with real `releng` processes: one compose holds the lane lock while
 * its host step runs, a second waits for it and says who holds it; the holder's engine is killed
 * (kill -9: nothing cleans up), `releng locks` shows the holder gone, `releng unlock` refuses a
 * live holder and frees the dead one into the audit trail, and `rerun` frees its dead
 * predecessor's lock itself. The host's compose only waits for a file.
 */
const RELENG = fileURLToPath(new URL('../../bin/releng.mjs', import.meta.url));
let root: string;
const children: ChildProcess[] = [];

const releng = (...args: string[]) =>
  spawnSync(process.execPath, [RELENG, ...args, '--root', root], { encoding: 'utf8', timeout: 180_000 });
const json = (result: { stdout: string }) => JSON.parse(result.stdout.trim().split('\n').at(-1)!);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A `releng compose` in the background, its output collected. */
function background(name: string) {
  const child = spawn(
    process.execPath,
    [RELENG, 'compose', '--major', '8', '--compose', 'Rocky', '--name', name, '--root', root],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  const run = { child, output: '', code: new Promise<number | null>((done) => child.on('close', done)) };
  child.stdout!.on('data', (d: Buffer) => {
    run.output += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    run.output += d.toString();
  });
  return run;
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  context: () => string = () => '',
  ms = 120_000,
) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) {
    const value = await probe();
    if (value) return value;
  }
  throw new Error(`timed out waiting for ${what}\n${context().slice(-3000)}`);
}

/**
 * Installs releng-host on the root (a session re-installs it when the host sources changed),
 * then puts in its place a host whose compose waits for `<root>/release`.
 */
async function installWaitingHost() {
  releng('doctor');
  const bin = join(root, 'usr/local/bin/releng-host');
  await writeFile(
    bin,
    [
      '#!/bin/bash',
      'if [ "$1" = compose ]; then',
      '  while [ ! -e "$RELENG_HOST_ROOT/release" ]; do sleep 0.1; done',
      'fi',
      `echo "{\\"operation\\":\\"$1\\",\\"ok\\":true}"`,
      '',
    ].join('\n'),
  );
  await chmod(bin, 0o755);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'releng-locks-'));
  await installWaitingHost();
}, 180_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await writeFile(join(root, 'release'), '');
  await rm(root, { recursive: true, force: true });
});

describe('a lock whose holder died', () => {
  it('is listed with its holder, waited for with a message, refused while live, freed when dead', {
    timeout: 300_000,
  }, async () => {
    const holder = background('holder-1');
    const lockOf = async () => {
      const r = releng('locks', '--json');
      return (json(r).locks as Array<Record<string, unknown>>).find((l) => l.name === 'lane:8/Rocky');
    };
    const held = await until('the lane lock', lockOf, () => holder.output);
    expect(held).toMatchObject({
      source: 'state-table',
      execution: 'holder-1',
      holderStatus: 'RUNNING',
      pid: holder.child.pid,
      host: hostname(),
      gone: false,
      expired: false,
    });
    // Taken now with the lane lock's 50 h ttl.
    expect(Math.abs(Date.parse(String(held.expiresAt)) - Date.now() - 50 * 3600_000)).toBeLessThan(120_000);
    expect(held.ageSeconds).toBeLessThan(120);
    expect(releng('locks').stdout).toMatch(
      /lane:8\/Rocky\s+held\s+by holder-1 \(RUNNING since .*pid \d+ on /,
    );

    const refused = releng('unlock', 'lane:8/Rocky', '--reason', 'try');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('lane:8/Rocky is held by holder-1 (RUNNING since');
    expect(refused.stderr).toContain('--force');

    const waiter = background('waiter-1');
    await until('the wait message', () => waiter.output.includes('waiting for lane:8/Rocky'));
    expect(waiter.output).toMatch(
      /waiting for lane:8\/Rocky, held by holder-1 since \S+Z \(RUNNING, pid \d+ on /,
    );

    // kill -9: no Ctrl-C handler runs, the record still says RUNNING, the lock stays.
    holder.child.kill('SIGKILL');
    await holder.code;
    const dead = await until('the holder seen gone', async () => {
      const lock = await lockOf();
      return lock?.gone ? lock : undefined;
    });
    expect(dead).toMatchObject({ execution: 'holder-1', holderStatus: 'ABORTED (EngineGone)' });

    await writeFile(join(root, 'release'), '');
    const unlocked = releng('unlock', 'lane:8/Rocky', '--reason', 'holder-1 was killed');
    expect(unlocked.stderr).toBe('');
    expect(unlocked.status).toBe(0);
    expect(unlocked.stdout).toContain('unlocked lane:8/Rocky (was held by holder-1 (ABORTED (EngineGone)');

    // The waiter takes the freed lock at its next retry.
    await waiter.code;
    expect(waiter.output.match(/waiting for lane:8\/Rocky/g)).toHaveLength(1);
    const events = json(releng('history', 'waiter-1', '--json')).events as Array<{
      type: string;
      state?: string;
    }>;
    expect(events.some((e) => e.type === 'StateExited' && e.state === 'Lane lock: take')).toBe(true);

    const audit = json(releng('locks', '--audit', '--json')).audit;
    expect(audit).toEqual([
      expect.objectContaining({
        action: 'unlock',
        lock: 'lane:8/Rocky',
        owner: expect.stringMatching(/:holder-1$/),
        by: userInfo().username,
        reason: 'holder-1 was killed',
        forced: false,
        holderState: 'ABORTED (EngineGone)',
      }),
    ]);
    expect(releng('locks', '--audit').stdout).toContain(`unlock lane:8/Rocky held by`);
  });

  it('rerun frees the lock its dead predecessor holds and runs at once', { timeout: 300_000 }, async () => {
    await rm(join(root, 'release'), { force: true });
    await installWaitingHost();
    const first = background('dead-1');
    await until(
      'dead-1 holding the lane lock',
      async () => {
        const locks = json(releng('locks', '--json')).locks as Array<{ execution: string }>;
        return locks.some((l) => l.execution === 'dead-1');
      },
      () => `${first.output}\n${releng('status').stdout}\n${releng('locks').stdout}`,
    );
    first.child.kill('SIGKILL');
    await first.code;
    await writeFile(join(root, 'release'), '');

    const rerun = releng('rerun', 'dead-1');
    const said = rerun.stdout + rerun.stderr;
    expect(said).toContain('releng rerun: released lane:8/Rocky held by dead-1 (its engine process');
    expect(said).not.toContain('waiting for');
    const events = json(releng('history', 'dead-1-rerun-1', '--json')).events as Array<{
      type: string;
      state?: string;
    }>;
    expect(events.some((e) => e.type === 'StateExited' && e.state === 'Lane lock: take')).toBe(true);
    expect(events.some((e) => e.type === 'StateRetried')).toBe(false);
    const audit = json(releng('locks', '--audit', '--json')).audit as Array<{ reason: string }>;
    expect(audit.at(-1)!.reason).toMatch(/^releng rerun dead-1: the holder's engine process \d+ ended$/);
  });
});
