import { errorName } from '../../shared/errors.ts';
import type { Clock, LockHolder, LockStore } from '../../shared/ports.ts';
import { stateKey } from '../../shared/state-table.ts';

/** A DynamoDB item in the low-level form (`{ S: … }`, `{ N: … }`) the state machines write. */
type Item = Record<string, Record<string, unknown>>;

interface ConditionalWrite {
  condition?: string;
  names?: Record<string, string>;
  values?: Item;
}

/**
 * What LockStore needs of a local DynamoDB table: the engine's LocalTable (cli/engine) has this
 * shape and throws an error named ConditionalCheckFailedException when a condition fails.
 */
export interface LockTable {
  get(key: Item): Promise<Item | undefined>;
  put(item: Item, write?: ConditionalWrite): Promise<unknown>;
  delete(key: Item, write?: ConditionalWrite): Promise<unknown>;
  scan(): Promise<Item[]>;
}

const ACQUIRE = 'attribute_not_exists(pk) OR expiresAtEpoch < :now OR #owner = :owner';
const lockKey = (name: string): Item => {
  const { pk, sk } = stateKey.lock(name);
  return { pk: { S: pk }, sk: { S: sk } };
};
const conditionFailed = (err: unknown) => errorName(err) === 'ConditionalCheckFailedException';

/**
 * Locks in the local state table the embedded state machines lock in: the lock items of
 * shared/state-table.ts in DynamoDB's typed form, so intake sees the lane lock a running
 * compose holds, exactly as the DynamoDB adapter does on AWS.
 */
export class TableLockStore implements LockStore {
  constructor(
    private readonly table: LockTable,
    private readonly clock: Clock,
  ) {}

  private nowEpoch(): number {
    return Math.floor(this.clock.now().getTime() / 1000);
  }

  private holderOf(item: Item | undefined): LockHolder | undefined {
    const owner = item?.owner?.S;
    const expires = Number(item?.expiresAtEpoch?.N ?? 0);
    if (typeof owner !== 'string' || expires <= this.nowEpoch()) return undefined;
    return { owner, expiresAt: new Date(expires * 1000).toISOString() };
  }

  async acquire(name: string, owner: string, ttlSeconds: number) {
    const now = this.nowEpoch();
    const expiry = { N: String(now + ttlSeconds) };
    try {
      await this.table.put(
        { ...lockKey(name), owner: { S: owner }, expiresAtEpoch: expiry, expiration: expiry },
        {
          condition: ACQUIRE,
          names: { '#owner': 'owner' },
          values: { ':now': { N: String(now) }, ':owner': { S: owner } },
        },
      );
      return { acquired: true };
    } catch (err) {
      if (!conditionFailed(err)) throw err;
      const holder = this.holderOf(await this.table.get(lockKey(name)));
      return { acquired: false, ...(holder ? { holder } : {}) };
    }
  }

  async release(name: string, owner: string): Promise<void> {
    try {
      await this.table.delete(lockKey(name), {
        condition: '#owner = :owner',
        names: { '#owner': 'owner' },
        values: { ':owner': { S: owner } },
      });
    } catch (err) {
      if (!conditionFailed(err)) throw err;
    }
  }

  async holder(name: string): Promise<LockHolder | undefined> {
    return this.holderOf(await this.table.get(lockKey(name)));
  }

  async list() {
    const locks: Array<LockHolder & { name: string }> = [];
    for (const item of await this.table.scan()) {
      const key = item.pk?.S;
      const holder = this.holderOf(item);
      if (typeof key === 'string' && key.startsWith('LOCK#') && holder)
        locks.push({ name: key.slice(5), ...holder });
    }
    return locks;
  }
}
