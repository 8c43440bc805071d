import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { snsSubject } from '../../functions/adapters/sns.ts';
import { applyNvrChanges } from '../../shared/intake/names.ts';
import { type ApprovalResultV1, PendingApprovalV1 } from '../../shared/messages/promotion.ts';
import type {
  ApprovalStore,
  Clock,
  LaneCompose,
  LaneState,
  LaneStateStore,
  LockHolder,
  LockStore,
  Notifier,
} from '../../shared/ports.ts';
import { JsonStore } from './json-store.ts';

type LockFile = Record<string, LockHolder>;

/** Locks in `locks.json`: the same semantics as the DynamoDB lock items (expiry, re-entry). */
export class LocalLockStore implements LockStore {
  private readonly store: JsonStore<LockFile>;

  constructor(
    file: string,
    private readonly clock: Clock,
  ) {
    this.store = new JsonStore(file, () => ({}));
  }

  private live(holder: LockHolder | undefined): holder is LockHolder {
    return !!holder && Date.parse(holder.expiresAt) > this.clock.now().getTime();
  }

  acquire(name: string, owner: string, ttlSeconds: number) {
    return this.store.update((locks) => {
      const current = locks[name];
      if (this.live(current) && current.owner !== owner) return { acquired: false, holder: current };
      locks[name] = {
        owner,
        expiresAt: new Date(this.clock.now().getTime() + ttlSeconds * 1000).toISOString(),
      };
      return { acquired: true };
    });
  }

  async release(name: string, owner: string): Promise<void> {
    await this.store.update((locks) => {
      if (locks[name]?.owner === owner) delete locks[name];
    });
  }

  async holder(name: string): Promise<LockHolder | undefined> {
    const current = (await this.store.read())[name];
    return this.live(current) ? current : undefined;
  }

  async list() {
    const locks = await this.store.read();
    return Object.entries(locks)
      .filter(([, holder]) => this.live(holder))
      .map(([name, holder]) => ({ name, ...holder }));
  }
}

/** Pending and decided approvals in `approvals.json`, validated on the way in and out. */
export class LocalApprovalStore implements ApprovalStore {
  private readonly store: JsonStore<Record<string, unknown>>;

  constructor(file: string) {
    this.store = new JsonStore(file, () => ({}));
  }

  async put(approval: PendingApprovalV1): Promise<void> {
    const valid = PendingApprovalV1.parse(approval);
    await this.store.update((all) => {
      all[valid.approvalId] = valid;
    });
  }

  async get(approvalId: string): Promise<PendingApprovalV1 | undefined> {
    const found = (await this.store.read())[approvalId];
    return found ? PendingApprovalV1.parse(found) : undefined;
  }

  decide(approvalId: string, outcome: ApprovalResultV1['outcome'], decision?: ApprovalResultV1) {
    return this.store.update((all) => {
      const found = all[approvalId] ? PendingApprovalV1.parse(all[approvalId]) : undefined;
      if (found?.status !== 'PENDING') return false;
      all[approvalId] = { ...found, status: outcome, ...(decision ? { decision } : {}) };
      return true;
    });
  }

  async listPending(): Promise<PendingApprovalV1[]> {
    return Object.values(await this.store.read())
      .map((item) => PendingApprovalV1.parse(item))
      .filter((approval) => approval.status === 'PENDING');
  }
}

/** How many started composes a lane keeps (as the DynamoDB adapter). */
const STARTED_KEPT = 10;

/** Lane state in `lanes.json`. */
export class LocalLaneStateStore implements LaneStateStore {
  private readonly store: JsonStore<Record<string, LaneState>>;

  /** Requesters by compose execution, in `requesters.json` beside the lanes. */
  private readonly requesterSets: JsonStore<Record<string, string[]>>;

  constructor(file: string) {
    this.store = new JsonStore(file, () => ({}));
    this.requesterSets = new JsonStore(join(dirname(file), 'requesters.json'), () => ({}));
  }

  private static fresh(laneId: string): LaneState {
    return { laneId, nvrs: [], started: [] };
  }

  async get(laneId: string): Promise<LaneState | undefined> {
    return (await this.store.read())[laneId];
  }

  applyTagChanges(laneId: string, add: string[], remove: string[]): Promise<LaneState> {
    return this.store.update((lanes) => {
      const state = lanes[laneId] ?? LocalLaneStateStore.fresh(laneId);
      applyNvrChanges(state.nvrs, add, remove);
      lanes[laneId] = state;
      return structuredClone(state);
    });
  }

  async recordStarted(laneId: string, compose: LaneCompose): Promise<void> {
    await this.store.update((lanes) => {
      const state = lanes[laneId] ?? LocalLaneStateStore.fresh(laneId);
      state.started = [...state.started, compose].slice(-STARTED_KEPT);
      lanes[laneId] = state;
    });
  }

  async recordSucceeded(laneId: string, nvrDigest: string): Promise<void> {
    await this.store.update((lanes) => {
      const state = lanes[laneId] ?? LocalLaneStateStore.fresh(laneId);
      state.succeededDigest = nvrDigest;
      lanes[laneId] = state;
    });
  }

  async addRequesters(executionName: string, users: string[]): Promise<void> {
    if (users.length === 0) return;
    await this.requesterSets.update((sets) => {
      const next = Object.hasOwn(sets, executionName) ? sets[executionName]! : [];
      sets[executionName] = [...new Set([...next, ...users])].sort();
    });
  }

  async requesters(executionName: string): Promise<string[]> {
    const sets = await this.requesterSets.read();
    return Object.hasOwn(sets, executionName) ? [...sets[executionName]!] : [];
  }
}

/**
 * Notifications as JSON Lines in `notifications.jsonl`, what SNS would have mailed. One
 * appendFile per notification: O_APPEND keeps concurrent writers' lines whole.
 */
export class FileNotifier implements Notifier {
  constructor(
    readonly file: string,
    private readonly clock: Clock,
  ) {}

  async publish(subject: string, message: string): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    await appendFile(
      this.file,
      // The subject SNS would deliver: the local log shows no more than the topic would.
      `${JSON.stringify({ at: this.clock.now().toISOString(), subject: snsSubject(subject), message })}\n`,
    );
  }
}
