import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExpressionError, evaluateCondition } from '../../cli/engine/expressions.ts';
import { ConditionalCheckFailedError, LocalTable } from '../../cli/engine/local-table.ts';
import { applyUpdate } from '../../cli/engine/update-expression.ts';

const lock = { pk: { S: 'LOCK#lane:8/Rocky' }, owner: { S: 'exec-a' }, expiresAtEpoch: { N: '100' } };
const values = { ':owner': { S: 'exec-b' }, ':now': { N: '150' } };

describe('ConditionExpression', () => {
  it('takes a free, expired or own lock and refuses a live one of someone else', () => {
    const take = 'attribute_not_exists(pk) OR expiresAtEpoch < :now OR #o = :owner';
    const names = { '#o': 'owner' };
    expect(evaluateCondition(take, undefined, { names, values })).toBe(true);
    expect(evaluateCondition(take, lock, { names, values })).toBe(true); // expired at 100 < 150
    const live = { ...lock, expiresAtEpoch: { N: '200' } };
    expect(evaluateCondition(take, live, { names, values })).toBe(false);
    expect(evaluateCondition(take, { ...live, owner: { S: 'exec-b' } }, { names, values })).toBe(true);
  });

  it('handles NOT, parentheses, BETWEEN, IN and begins_with', () => {
    const input = {
      values: { ':a': { N: '50' }, ':b': { N: '150' }, ':p': { S: 'LOCK#' }, ':x': { S: 'exec-a' } },
    };
    expect(evaluateCondition('expiresAtEpoch BETWEEN :a AND :b', lock, input)).toBe(true);
    const names = { '#o': 'owner' };
    expect(evaluateCondition('NOT (#o IN (:x) AND begins_with(pk, :p))', lock, { ...input, names })).toBe(
      false,
    );
    expect(evaluateCondition('(attribute_exists(pk))', lock, input)).toBe(true);
  });

  it('names what is wrong in a bad expression', () => {
    expect(() => evaluateCondition('pk = :missing', lock, {})).toThrow(
      /:missing is not in ExpressionAttributeValues/,
    );
    expect(() => evaluateCondition('owner ~ :x', lock, { values })).toThrow(ExpressionError);
  });
});

describe('UpdateExpression', () => {
  it('sets, adds and removes from the item as it was', () => {
    const updated = applyUpdate('SET #s = :s, n = if_not_exists(n, :zero) + :one REMOVE #o', lock, {
      names: { '#s': 'status', '#o': 'owner' },
      values: { ':s': { S: 'APPROVED' }, ':zero': { N: '0' }, ':one': { N: '1' } },
    });
    expect(updated).toEqual({
      pk: lock.pk,
      expiresAtEpoch: lock.expiresAtEpoch,
      status: { S: 'APPROVED' },
      n: { N: '1' },
    });
  });
});

describe('LocalTable', () => {
  it('keeps items across instances and enforces conditions under concurrent writers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'releng-table-'));
    try {
      const file = join(dir, 'state.json');
      const take = (owner: string) =>
        new LocalTable(file, ['pk'])
          .put({ pk: { S: 'L' }, owner: { S: owner } }, { condition: 'attribute_not_exists(pk)' })
          .then(
            () => owner,
            (err) => {
              expect(err).toBeInstanceOf(ConditionalCheckFailedError);
              return undefined;
            },
          );
      const winners = (await Promise.all(['a', 'b', 'c', 'd'].map(take))).filter(Boolean);
      expect(winners).toHaveLength(1);
      expect((await new LocalTable(file, ['pk']).get({ pk: { S: 'L' } }))?.owner).toEqual({ S: winners[0] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('LocalTable refuses what DynamoDB refuses', () => {
  it('names unused ExpressionAttributeValues in a put or a scan (moto checks them in updates only)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'releng-table-'));
    try {
      const table = new LocalTable(join(dir, 'state.json'), ['pk', 'sk']);
      const item = { pk: { S: 'L' }, sk: { S: 'LOCK' } };
      await expect(
        table.put(item, { condition: 'attribute_not_exists(pk)', values: { ':now': { N: '1' } } }),
      ).rejects.toThrow(/unused in expressions: keys: \{:now\}/);
      await expect(table.scan({ values: { ':p': { S: 'LOCK#' } } })).rejects.toThrow(/keys: \{:p\}/);
      // Nothing was written by the refused put.
      expect(await table.scan()).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
