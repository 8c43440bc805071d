import { hostname } from 'node:os';
import { type ApprovalStore, type LockAuditEntry, systemClock } from '../../shared/ports.ts';
import type { LocalEngine } from './engine.ts';
import type { ExecutionRecord } from './execution-store.ts';
import {
  ageText,
  blockingLocks,
  holderText,
  type LockView,
  localHolderLookup,
  localLockAdmin,
  tableLockViews,
} from './lock-views.ts';

/** What these need of the engine: its state directory and execution records. */
type EngineState = Pick<LocalEngine, 'engineDir' | 'store'>;

/** The lock items of the engine's state table with their holders (none before the engine first ran). */
async function engineLockViews(engine: EngineState): Promise<LockView[]> {
  const admin = localLockAdmin(engine.engineDir, systemClock);
  return tableLockViews(admin, localHolderLookup(engine.store), systemClock, hostname());
}

/** `lane:8/Rocky, held by X since T (RUNNING, pid N on H)`. */
function heldBy(v: LockView): string {
  const pid = v.pid ? `, pid ${v.pid}${v.host ? ` on ${v.host}` : ''}` : '';
  return `${v.name}, held by ${v.execution} since ${v.takenAt ?? v.holderSince ?? '?'} (${v.holderStatus}${pid})`;
}

/**
 * While an execution of this engine waits for a lock (its `…: take` state is current while
 * another execution holds the lock, or was retried after ConditionalCheckFailed), says once per
 * wait which lock and who holds it since when. Polls the
 * execution records (a small file each) and reads events only while a take state is current.
 * With `approvals`, says the same of an approval it waits for. Returns the function that stops it.
 */
export function reportLockWaits(
  engine: LocalEngine,
  print: (line: string) => void,
  options: { intervalMs?: number; approvals?: ApprovalStore } = {},
): () => void {
  const reported = new Set<string>();
  let busy = false;
  // An approval this engine's execution waits for: who asked, since when, until when.
  const checkApprovals = async (running: string[]) => {
    if (!options.approvals || running.length === 0) return;
    for (const p of await options.approvals.listPending()) {
      if (reported.has(p.approvalId) || !running.some((n) => p.approvalId.startsWith(`${n}-`))) continue;
      reported.add(p.approvalId);
      print(
        `waiting for a decision on ${p.approvalId} (Rocky ${p.revision}), requested by ${p.requestedBy} since ${p.requestedAt}, until ${p.expiresAt}`,
      );
    }
  };
  const check = async (name: string) => {
    const record = await engine.store.get(name);
    const takes = record.currentStates.filter((s) => s.endsWith(': take'));
    if (takes.length === 0) return;
    const events = await engine.store.events(name);
    for (const state of takes) {
      const entered = events.findLastIndex((e) => e.type === 'StateEntered' && e.state === state);
      if (entered < 0) continue;
      const key = `${name}\0${state}\0${events[entered]!.timestamp}`;
      if (reported.has(key)) continue;
      const retried = events.slice(entered).some((e) => e.type === 'StateRetried' && e.state === state);
      // Said as soon as another execution is seen holding it, not only after the first retry's wait.
      const blocking = blockingLocks(await engineLockViews(engine), state, record.input, name);
      if (blocking.length === 0 && !retried) continue;
      reported.add(key);
      if (blocking.length === 0)
        print(`waiting at ${state} (${name}): the lock is held by another execution`);
      for (const v of blocking) print(`waiting for ${heldBy(v)}; releng locks lists every lock`);
    }
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    const running = engine.runningExecutions();
    void Promise.all([
      ...running.map((n) => check(n).catch(() => undefined)),
      checkApprovals(running).catch(() => undefined),
    ]).finally(() => {
      busy = false;
    });
  }, options.intervalMs ?? 300);
  timer.unref();
  return () => clearInterval(timer);
}

/** For a LockHeld failure: `; held by EXECUTION (RUNNING since T, pid N on H), taken 2 h 5 min ago`. */
export async function lockHeldDetail(engine: EngineState, failed: ExecutionRecord): Promise<string> {
  if (failed.error !== 'LockHeld') return '';
  const blocking = blockingLocks(
    await engineLockViews(engine),
    failed.failedState ?? '',
    failed.input,
    failed.name,
  );
  return blocking
    .map((v) => `; ${v.name} held by ${holderText(v)}, taken ${ageText(v.ageSeconds)} ago`)
    .join('');
}

/**
 * Before a rerun: frees the locks whose holder is provably dead (its record says RUNNING but
 * its engine process is gone), recording each in the audit trail. Returns what it freed.
 */
export async function releaseDeadHolders(
  engine: LocalEngine,
  rerunOf: string,
  by: string,
): Promise<string[]> {
  const admin = localLockAdmin(engine.engineDir, systemClock);
  const freed: string[] = [];
  for (const view of await engineLockViews(engine)) {
    if (view.expired || view.holderStatus !== 'ABORTED (EngineGone)') continue;
    if (!(await admin.releaseOwned(view.name, view.owner))) continue;
    const entry: LockAuditEntry = {
      at: systemClock.now().toISOString(),
      action: 'unlock',
      lock: view.name,
      owner: view.owner,
      by,
      reason: `releng rerun ${rerunOf}: the holder's engine process ${view.pid ?? '?'} ended`,
      forced: false,
      holderState: view.holderStatus,
    };
    await admin.recordAudit(entry);
    freed.push(`${view.name} held by ${view.execution} (its engine process ${view.pid ?? '?'} ended)`);
  }
  return freed;
}
