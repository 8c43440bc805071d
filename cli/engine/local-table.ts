import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../host/framework/fsutil.ts';
import { isErrno } from '../../shared/errors.ts';
import { STATE_TABLE } from '../../shared/state-table.ts';
import {
  type AttributeValue,
  type Condition,
  ExpressionError,
  type ExpressionInput,
  type Item,
  newUsage,
  type Path,
  parseCondition,
  requireAllUsed,
} from './expressions.ts';
import { withFileMutex } from './file-mutex.ts';
import { type ParsedUpdate, parseUpdate } from './update-expression.ts';

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

/** A Scan's FilterExpression with its names and values. */
export interface ScanFilter extends ExpressionInput {
  filter?: string;
}

export interface UpdateResult {
  before: Item | undefined;
  after: Item;
  paths: Path[];
}

/**
 * The Attributes an UpdateItem returns for its ReturnValues. UPDATED_* name the top-level
 * attributes the update wrote; a nested path there is refused rather than answered loosely.
 */
export function returnedAttributes(mode: unknown, result: UpdateResult): Item | undefined {
  if (mode === undefined || mode === 'NONE') return undefined;
  if (mode === 'ALL_OLD') return result.before;
  if (mode === 'ALL_NEW') return result.after;
  if (mode !== 'UPDATED_OLD' && mode !== 'UPDATED_NEW')
    throw new ExpressionError(`ReturnValues ${String(mode)} is not valid`);
  if (result.paths.some((path) => path.length > 1))
    throw new Error(`the local table does not serve ReturnValues ${mode} for nested paths`);
  const from = mode === 'UPDATED_OLD' ? result.before : result.after;
  const picked: Item = {};
  for (const [name] of result.paths) {
    const value = from?.[name as string];
    if (value !== undefined) picked[name as string] = value;
  }
  return Object.keys(picked).length ? picked : undefined;
}

/** DynamoDB's item size limit, 400 KB. */
export const MAX_ITEM_BYTES = 400 * 1024;

/** The engine's one state table file: every local port and state machine task uses it. */
export function engineStateTable(
  engineDir: string,
  keys: readonly string[] = [STATE_TABLE.partitionKey, STATE_TABLE.sortKey],
): LocalTable {
  return new LocalTable(join(engineDir, 'tables', 'state.json'), keys);
}

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

/** An attribute value's size as DynamoDB counts it, never less (numbers: one byte per two digits, plus one). */
function valueBytes(v: AttributeValue): number {
  if ('S' in v) return utf8(v.S as string);
  if ('N' in v) return Math.ceil(String(v.N).length / 2) + 1;
  if ('SS' in v) return (v.SS as string[]).reduce((n, s) => n + utf8(s), 0);
  if ('NS' in v) return (v.NS as string[]).reduce((n, s) => n + Math.ceil(s.length / 2) + 1, 0);
  if ('L' in v) return 3 + (v.L as AttributeValue[]).reduce((n, e) => n + 1 + valueBytes(e), 0);
  if ('M' in v) return 3 + itemBytes(v.M as Item);
  if ('B' in v) return (v.B as Uint8Array).length ?? 0;
  return 1;
}

function itemBytes(item: Item): number {
  return Object.entries(item).reduce((n, [name, v]) => n + utf8(name) + valueBytes(v), 0);
}

/** What DynamoDB refuses in any value it is given: empty or duplicated sets. */
function validateValue(v: AttributeValue, where: string): void {
  for (const type of ['SS', 'NS', 'BS']) {
    const members = v[type] as unknown[] | undefined;
    if (!members) continue;
    if (members.length === 0)
      throw new ExpressionError(
        `One or more parameter values were invalid: ${where}: a set may not be empty`,
      );
    if (new Set(members.map(String)).size !== members.length)
      throw new ExpressionError(
        `One or more parameter values were invalid: ${where}: the set contains duplicates`,
      );
  }
  if (v.L) for (const e of v.L as AttributeValue[]) validateValue(e, where);
  if (v.M) for (const [k, e] of Object.entries(v.M as Item)) validateValue(e, `${where}.${k}`);
}

/**
 * A DynamoDB table on local disk: items by key in one JSON file, rewritten atomically under a
 * cross-process mutex, so locks and approvals survive a crash and two `releng` processes see
 * one table. Expressions are parsed and checked as DynamoDB checks them (unused names or
 * values, key updates, overlapping paths, empty sets, item size) before any item is read;
 * conditions are evaluated against the item as stored.
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
        if (value === undefined)
          throw new ExpressionError(`key attribute ${name} is missing from ${JSON.stringify(item)}`);
        if (value.S === '') throw new ExpressionError(`key attribute ${name} must not be an empty string`);
        return value;
      }),
    );
  }

  /** A Key names exactly the key attributes. */
  private keyOnly(key: Item): string {
    const extra = Object.keys(key).filter((name) => !this.keyAttributes.includes(name));
    if (extra.length)
      throw new ExpressionError(
        `The provided key element does not match the schema (extra: ${extra.join(', ')})`,
      );
    return this.keyOf(key);
  }

  private validateItem(item: Item): void {
    for (const [name, value] of Object.entries(item)) validateValue(value, name);
    const bytes = itemBytes(item);
    if (bytes > MAX_ITEM_BYTES)
      throw new ExpressionError(`Item size has exceeded the maximum allowed size (${bytes} bytes)`);
  }

  /** The request's condition, parsed, after DynamoDB's checks of its names and values. */
  private prepare(
    write: ConditionalWrite,
    update?: string,
  ): { condition?: Condition; update?: ParsedUpdate } {
    if (write.values && Object.keys(write.values).length === 0)
      throw new ExpressionError('ExpressionAttributeValues must not be empty');
    if (write.names && Object.keys(write.names).length === 0)
      throw new ExpressionError('ExpressionAttributeNames must not be empty');
    for (const [name, value] of Object.entries(write.values ?? {})) validateValue(value, name);
    const usage = newUsage();
    const parsed = {
      ...(write.condition ? { condition: parseCondition(write.condition, write, usage) } : {}),
      ...(update !== undefined ? { update: parseUpdate(update, write, usage) } : {}),
    };
    requireAllUsed(write, usage);
    return parsed;
  }

  private check(existing: Item | undefined, condition: Condition | undefined): void {
    if (condition && !condition(existing)) throw new ConditionalCheckFailedError(existing);
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

  async get(key: Item): Promise<Item | undefined> {
    return (await this.load())[this.keyOnly(key)];
  }

  async scan(request: ScanFilter = {}): Promise<Item[]> {
    const { filter, ...input } = request;
    const usage = newUsage();
    const keep = filter ? parseCondition(filter, input, usage) : undefined;
    requireAllUsed(input, usage);
    const items = Object.values(await this.load());
    return keep ? items.filter((item) => keep(item)) : items;
  }

  /** Returns the item it replaced, if any. */
  async put(item: Item, write: ConditionalWrite = {}): Promise<Item | undefined> {
    const key = this.keyOf(item);
    this.validateItem(item);
    const { condition } = this.prepare(write);
    return this.mutate((items) => {
      const existing = items[key];
      this.check(existing, condition);
      items[key] = item;
      return existing;
    });
  }

  /** Returns the item it deleted, if any. */
  async delete(key: Item, write: ConditionalWrite = {}): Promise<Item | undefined> {
    const id = this.keyOnly(key);
    const { condition } = this.prepare(write);
    return this.mutate((items) => {
      const existing = items[id];
      this.check(existing, condition);
      delete items[id];
      return existing;
    });
  }

  /** The item before (undefined: it was created) and after the update, and the paths it wrote. */
  async update(key: Item, expression: string, write: ConditionalWrite = {}): Promise<UpdateResult> {
    const id = this.keyOnly(key);
    const { condition, update } = this.prepare(write, expression);
    const keyPath = update!.paths.find((path) => this.keyAttributes.includes(String(path[0])));
    if (keyPath)
      throw new ExpressionError(`Cannot update attribute ${keyPath[0]}. This attribute is part of the key`);
    return this.mutate((items) => {
      const before = items[id];
      this.check(before, condition);
      const after = update!.apply(before ?? structuredClone(key));
      this.validateItem(after);
      items[id] = after;
      return { before, after, paths: update!.paths };
    });
  }
}
