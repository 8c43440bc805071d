import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LANE_LOCK_TTL } from '../../cdk/state-machines/compose-each.ts';
import { PUBLISH_LOCK_TTL } from '../../cdk/state-machines/promotion.ts';
import { STAGING_LOCK_TTL } from '../../cdk/state-machines/staging.ts';
import { executionArn } from '../../cli/engine/engine.ts';
import { ExecutionStore } from '../../cli/engine/execution-store.ts';
import { lockHeldDetail } from '../../cli/engine/lock-waits.ts';
import { createLocalAdapters } from '../../cli/local/index.ts';
import { systemClock } from '../../shared/ports.ts';
import { LOCK_TTL_SECONDS } from '../../shared/state-table.ts';

/**
 * A compose that failed with LockHeld names the holder and its age: the lock item in the
 * engine's state table (written in the state machines' shape) and the holder's execution record
 * with the pid of a real process, alive and then gone.
 */
let engineDir: string;
let store: ExecutionStore;
const holderProcess = () => spawn('sleep', ['60'], { stdio: 'ignore' });

beforeEach(async () => {
  engineDir = join(await mkdtemp(join(tmpdir(), 'releng-lockheld-')), 'engine');
  store = new ExecutionStore(engineDir);
});
afterEach(async () => {
  await rm(join(engineDir, '..'), { recursive: true, force: true });
});

const failedCompose = {
  name: 'waiter-2',
  stateMachine: 'compose' as const,
  status: 'FAILED' as const,
  error: 'LockHeld',
  cause: 'Lane lock is held by another execution',
  failedState: 'Lane lock: held by another execution',
  input: { major: '8', composes: [{ name: 'Rocky', kind: 'updates' }] },
  startDate: new Date().toISOString(),
  currentStates: [],
  pid: process.pid,
};

describe('LockHeld failure detail', () => {
  it('names the holding execution, its state since when, its pid and host, and the lock age', async () => {
    const holder = holderProcess();
    const startDate = new Date(Date.now() - 5000).toISOString();
    await store.create({
      name: 'holder-2',
      stateMachine: 'compose',
      status: 'RUNNING',
      input: {},
      startDate,
      currentStates: ['Compose'],
      pid: holder.pid!,
    });
    const { locks } = createLocalAdapters(join(engineDir, '..'), systemClock);
    await locks.acquire('lane:8/Rocky', executionArn('compose', 'holder-2'), LOCK_TTL_SECONDS.lane);

    expect(await lockHeldDetail({ engineDir, store }, failedCompose)).toMatch(
      new RegExp(
        `^; lane:8/Rocky held by holder-2 \\(RUNNING since ${startDate}, pid ${holder.pid} on ${hostname()}\\), taken [0-9]+ s ago$`,
      ),
    );

    holder.kill('SIGKILL');
    await new Promise((r) => holder.on('exit', r));
    expect(await lockHeldDetail({ engineDir, store }, failedCompose)).toContain(
      'held by holder-2 (ABORTED (EngineGone) since',
    );
    // Another failure says nothing more.
    expect(await lockHeldDetail({ engineDir, store }, { ...failedCompose, error: 'States.TaskFailed' })).toBe(
      '',
    );
  });
});

describe('lock ttls', () => {
  it('are the ones the pipelines take their locks with, so a lock age is right', () => {
    expect(LOCK_TTL_SECONDS).toEqual({
      lane: LANE_LOCK_TTL.toSeconds(),
      staging: STAGING_LOCK_TTL.toSeconds(),
      publish: PUBLISH_LOCK_TTL.toSeconds(),
    });
  });
});
