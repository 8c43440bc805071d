import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalSession, openLocalSession } from '../../cli/engine/local-app.ts';
import { installStubHost, SLEEPING_COMPOSE } from '../support/host-root.ts';

/**
 * Stopping an execution from outside (StopExecution; Ctrl-C will use the same path): Step
 * Functions runs no Catch, so without execution-cleanup the host command would run on and the
 * lane lock stay held until its TTL. On the real app, with a releng-host whose compose only
 * sleeps, the execution stops as ABORTED, its host process is killed and its lock released.
 */
let root: string;
let session: LocalSession;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'releng-stop-'));
  session = await openLocalSession({ root, waitMs: 10 });
  // After the install: a host whose compose runs until it is killed, everything else succeeds.
  await installStubHost(root, SLEEPING_COMPOSE);
}, 300_000);
afterAll(async () => {
  await session?.engine.idle();
  await rm(root, { recursive: true, force: true });
});

describe('stopping an execution', () => {
  it('kills its host command, releases its lane lock and records it ABORTED', {
    timeout: 120_000,
  }, async () => {
    const { engine } = session;
    const { locks } = session.adapters;
    await engine.start('compose', 'stopped-1', {
      version: 1,
      major: '8',
      composes: [{ name: 'Rocky', kind: 'updates' }],
      requestedBy: 'kojira',
      reason: 'test',
      requestId: 'req-stop-1',
      quietSeconds: 0,
    });
    const pidFile = join(root, 'compose.pid');
    const pid = await until(
      async () => Number((await readFile(pidFile, 'utf8').catch(() => '')).trim()) || undefined,
      'the compose to start on the host',
    );
    let record: Awaited<ReturnType<typeof engine.stop>>;
    try {
      expect(alive(pid)).toBe(true);
      expect((await locks.list()).map((l) => l.name)).toEqual(['lane:8/Rocky']);
    } finally {
      record = await engine.stop('stopped-1', 'stopped by the test');
    }

    expect(record).toMatchObject({ status: 'ABORTED', cause: 'stopped by the test' });
    expect(alive(pid)).toBe(false);
    expect(await locks.list()).toEqual([]);
    const events = await engine.store.events('stopped-1');
    // No Catch ran: the failure path (notify, release after failure) is not in the history.
    expect(events.some((e) => e.state === 'Notify failure')).toBe(false);
  });
});
