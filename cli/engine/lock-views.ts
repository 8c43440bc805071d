import { DynamoLockStore } from '../../functions/adapters/dynamodb.ts';
import { laneLockName, PUBLISH_LOCK, stagingLockName } from '../../shared/lanes.ts';
import type { Clock, LockAdmin, LockRecord } from '../../shared/ports.ts';
import { lockTtlSeconds } from '../../shared/state-table.ts';
import { ExecutionNotFoundError, type ExecutionRecord, type ExecutionStore } from './execution-store.ts';
import { LocalDocumentClient } from './local-document-client.ts';
import { engineStateTable } from './local-table.ts';

/** One lock as `releng locks` shows it: the item, its holding execution and that execution's state. */
export interface LockView {
  name: string;
  /** The pipelines' state table, or a host-side file lock under the compose mount. */
  source: 'state-table' | 'host-file';
  /** As stored: the execution ARN (state table) or the host operation's owner (file lock). */
  owner: string;
  /** The holding execution's name. */
  execution: string;
  expiresAt: string;
  expired: boolean;
  /** When it was taken: expiry minus the pipeline's ttl for it (or the file lock's own record). */
  takenAt?: string;
  ageSeconds?: number;
  host?: string;
  pid?: number;
  /** RUNNING, SUCCEEDED, ABORTED (EngineGone), …; UNKNOWN when no execution of that name is known. */
  holderStatus: string;
  holderSince?: string;
  /** Provably gone: expired, its execution ended, or its engine process is dead. */
  gone: boolean;
}

/** `arn:…:execution:compose:NAME` → NAME. */
export const executionNameOf = (owner: string) =>
  owner.startsWith('arn:') ? owner.split(':').at(-1)! : owner;

/** functions/' DynamoDB lock store over the engine's state table: one code path for both engines. */
export function localLockAdmin(engineDir: string, clock: Clock): LockAdmin {
  return new DynamoLockStore(new LocalDocumentClient(engineStateTable(engineDir)), 'local', clock);
}

/** How a holding execution stands, as the execution store or DescribeExecution tells it. */
export type HolderLookup = (owner: string) => Promise<ExecutionRecord | undefined>;

export function localHolderLookup(store: ExecutionStore): HolderLookup {
  return async (owner) => {
    try {
      return await store.get(executionNameOf(owner));
    } catch (err) {
      if (err instanceof ExecutionNotFoundError) return undefined;
      throw err;
    }
  };
}

function viewOf(lock: LockRecord, holder: ExecutionRecord | undefined, now: Date, host?: string): LockView {
  const ttl = lockTtlSeconds(lock.name);
  const takenAt = ttl ? new Date(Date.parse(lock.expiresAt) - ttl * 1000).toISOString() : undefined;
  const status = holder
    ? `${holder.status}${holder.error === 'EngineGone' ? ' (EngineGone)' : ''}`
    : 'UNKNOWN';
  return {
    name: lock.name,
    source: 'state-table',
    owner: lock.owner,
    execution: executionNameOf(lock.owner),
    expiresAt: lock.expiresAt,
    expired: lock.expired,
    ...(takenAt ? { takenAt, ageSeconds: Math.round((now.getTime() - Date.parse(takenAt)) / 1000) } : {}),
    ...(holder && host ? { host, pid: holder.pid } : {}),
    holderStatus: status,
    ...(holder ? { holderSince: holder.startDate } : {}),
    // An execution this root does not know cannot be proven gone: only its expiry frees it.
    gone: lock.expired || (holder !== undefined && holder.status !== 'RUNNING'),
  };
}

/**
 * Every lock item of the state table with its holder. `host` is where the holder's engine runs
 * (this machine for the local engine; unknown on AWS, where Step Functions holds it).
 */
export async function tableLockViews(
  admin: LockAdmin,
  lookup: HolderLookup,
  clock: Clock,
  host?: string,
): Promise<LockView[]> {
  const now = clock.now();
  const views: LockView[] = [];
  for (const lock of await admin.records()) views.push(viewOf(lock, await lookup(lock.owner), now, host));
  return views;
}

/** `2 h 5 min`, `40 s`: a lock's age for people. */
export function ageText(seconds: number | undefined): string {
  if (seconds === undefined) return '?';
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

/** `EXECUTION (RUNNING since T, pid N on HOST)`: who holds a lock, in one phrase. */
export function holderText(view: LockView): string {
  const since = view.holderSince ? ` since ${view.holderSince}` : '';
  const pid = view.pid ? `, pid ${view.pid}${view.host ? ` on ${view.host}` : ''}` : '';
  return `${view.execution} (${view.holderStatus}${since}${pid})`;
}

/**
 * The locks an execution's `<label>: take` state asks for, from its input: the lane locks of
 * its composes, its major's staging lock, or the publish lock.
 */
export function wantedLocks(state: string, input: unknown): string[] {
  const i = (input ?? {}) as { major?: string; composes?: Array<{ name?: string } | string> };
  if (state.startsWith('Lane lock'))
    return (i.composes ?? []).map((c) =>
      laneLockName({ major: String(i.major), compose: String(typeof c === 'string' ? c : c.name) }),
    );
  if (state.startsWith('Staging lock')) return [stagingLockName(String(i.major))];
  if (state.startsWith('Publish lock')) return [PUBLISH_LOCK];
  return [];
}

/** The locks among `views` that `state` of execution `owner` waits for: wanted, held by another. */
export function blockingLocks(
  views: LockView[],
  state: string,
  input: unknown,
  execution: string,
): LockView[] {
  const wanted = new Set(wantedLocks(state, input));
  return views.filter(
    (v) => v.source === 'state-table' && wanted.has(v.name) && !v.expired && v.execution !== execution,
  );
}
