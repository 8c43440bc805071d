import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../host/framework/fsutil.ts';
import { isErrno } from '../../shared/errors.ts';
import { applyUpdate, type ExpressionInput, evaluateCondition, type Item } from './expressions.ts';
import { withFileMutex } from './file-mutex.ts';

export type { Item } from './expressions.ts';

/** The error DynamoDB raises when a ConditionExpression does not hold. */
export class ConditionalCheckFailedError extends Error {
  override readonly name = 'ConditionalCheckFailedException';
  /** The item the condition was evaluated against, for ReturnValuesOnConditionCheckFailure. */
  constructor(readonly stored?: Item) {
    super('The conditional request failed');
  }
}

export interface ConditionalWrite extends ExpressionInput {
  condition?: string;
}

/**
 * A DynamoDB table on local disk: items by key in one JSON file, rewritten atomically under a
 * cross-process mutex, so locks and approvals survive a crash and two `releng` processes see
 * one table. Conditions are evaluated like DynamoDB's, against the item as stored.
 */
export class LocalTable {
  constructor(
    readonly file: string,
    readonly keyAttributes: readonly string[],
  ) {
    if (keyAttributes.length === 0) throw new Error(`table ${file}: needs at least one key attribute`);
  }

  private keyOf(item: Item): string {
    return JSON.stringify(
      this.keyAttributes.map((name) => {
        const value = item[name];
        if (value === undefined) {
          throw Object.assign(new Error(`key attribute ${name} is missing from ${JSON.stringify(item)}`), {
            name: 'ValidationException',
          });
        }
        return value;
      }),
    );
  }

  private async load(): Promise<Record<string, Item>> {
    try {
      return JSON.parse(await readFile(this.file, 'utf8')) as Record<string, Item>;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return {};
      throw err;
    }
  }

  private async mutate<T>(fn: (items: Record<string, Item>) => T): Promise<T> {
    return withFileMutex(this.file, async () => {
      const items = await this.load();
      const result = fn(items);
      await writeFileAtomic(this.file, `${JSON.stringify(items, null, 1)}\n`);
      return result;
    });
  }

  private check(existing: Item | undefined, write: ConditionalWrite): void {
    if (write.condition && !evaluateCondition(write.condition, existing, write)) {
      throw new ConditionalCheckFailedError(existing);
    }
  }

  async get(key: Item): Promise<Item | undefined> {
    return (await this.load())[this.keyOf(key)];
  }

  async scan(): Promise<Item[]> {
    return Object.values(await this.load());
  }

  /** Returns the item it replaced, if any. */
  async put(item: Item, write: ConditionalWrite = {}): Promise<Item | undefined> {
    const key = this.keyOf(item);
    return this.mutate((items) => {
      const existing = items[key];
      this.check(existing, write);
      items[key] = item;
      return existing;
    });
  }

  async delete(key: Item, write: ConditionalWrite = {}): Promise<Item | undefined> {
    const id = this.keyOf(key);
    return this.mutate((items) => {
      const existing = items[id];
      this.check(existing, write);
      delete items[id];
      return existing;
    });
  }

  /** Returns the item after the update. */
  async update(key: Item, expression: string, write: ConditionalWrite = {}): Promise<Item> {
    const id = this.keyOf(key);
    return this.mutate((items) => {
      const existing = items[id];
      this.check(existing, write);
      const updated = applyUpdate(expression, existing ?? structuredClone(key), write);
      items[id] = updated;
      return updated;
    });
  }
}
