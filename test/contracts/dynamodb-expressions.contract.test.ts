import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteCommand, GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineStateTable } from '../../cli/engine/local-table.ts';
import { createLocalAdapters } from '../../cli/local/index.ts';
import { createDocumentClient, type DocumentClient } from '../../functions/adapters/dynamodb.ts';
import { createMotoStateTable, describeMoto, useMoto } from '../support/moto.ts';

/**
 * The local table must never be more forgiving than DynamoDB: every request below is sent, as
 * the document client sends it, to moto and to the engine's state table, and both must refuse
 * it (or answer it) alike. An adapter that only works locally would fail here first.
 */

const moto = useMoto();

interface Target {
  doc: DocumentClient;
  table: string;
  cleanup(): void;
}

async function motoTarget(): Promise<Target> {
  const { client, table } = await createMotoStateTable(moto, 'releng-expr');
  return { doc: createDocumentClient(client), table, cleanup: () => {} };
}

function localTarget(): Target {
  const root = mkdtempSync(join(tmpdir(), 'releng-contract-expr-'));
  // The document client every local port shares, over the engine's state table.
  const { doc } = createLocalAdapters(root, undefined, engineStateTable(join(root, 'engine')));
  return { doc, table: 'local', cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

const key = (pk: string) => ({ pk, sk: 'X' });

function expressionContract(make: () => Promise<Target> | Target) {
  let t: Target;
  beforeAll(async () => {
    t = await make();
  });
  afterAll(() => t?.cleanup());
  const refused = (sent: Promise<unknown>) =>
    expect(sent).rejects.toMatchObject({ name: 'ValidationException' });
  /** An UpdateItem of `pk` with `expression`, which both tables must refuse. */
  const refusedUpdate = (pk: string, expression: string, values?: Record<string, unknown>) =>
    refused(
      t.doc.send(
        new UpdateCommand({
          TableName: t.table,
          Key: key(pk),
          UpdateExpression: expression,
          ...(values ? { ExpressionAttributeValues: values } : {}),
        }),
      ),
    );

  // (DynamoDB refuses unused values in every request; moto checks them in UpdateItem only, so
  // the local table's refusal elsewhere is tested in test/engine/expressions.test.ts.)
  it('refuses ExpressionAttributeNames, and UpdateItem values, that no expression uses', async () => {
    await refused(
      t.doc.send(
        new PutCommand({
          TableName: t.table,
          Item: key('unused'),
          ConditionExpression: 'attribute_not_exists(pk)',
          ExpressionAttributeNames: { '#owner': 'owner' },
        }),
      ),
    );
    await refused(
      t.doc.send(
        new DeleteCommand({
          TableName: t.table,
          Key: key('unused'),
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#owner': 'owner' },
        }),
      ),
    );
    await refused(
      t.doc.send(
        new ScanCommand({
          TableName: t.table,
          FilterExpression: 'begins_with(pk, :p)',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':p': 'LOCK#' },
        }),
      ),
    );
    await refusedUpdate('unused', 'SET a = :a', { ':a': 1, ':spare': 2 });
  });

  it('refuses a reserved word as a bare attribute name', async () => {
    await refusedUpdate('reserved', 'SET status = :s', { ':s': 'PENDING' });
    await refused(
      t.doc.send(
        new ScanCommand({
          TableName: t.table,
          FilterExpression: 'owner = :o',
          ExpressionAttributeValues: { ':o': 'a' },
        }),
      ),
    );
  });

  it('refuses an update of a key attribute, overlapping paths and a clause used twice', async () => {
    await refusedUpdate('keys', 'SET pk = :other', { ':other': 'elsewhere' });
    await refusedUpdate('keys', 'SET a = :a REMOVE a', { ':a': 1 });
    await refusedUpdate('keys', 'SET a = :a SET b = :a', { ':a': 1 });
  });

  it('refuses a value of the wrong type or from a missing attribute', async () => {
    await t.doc.send(new PutCommand({ TableName: t.table, Item: { ...key('types'), word: 'x', n: 1 } }));
    await refusedUpdate('types', 'ADD word :more', { ':more': 'y' });
    await refusedUpdate('types', 'SET n = n + :one', { ':one': 'one' });
    await refusedUpdate('types', 'SET dup = absent');
    // Nothing of the refused updates was written.
    expect((await t.doc.send(new GetCommand({ TableName: t.table, Key: key('types') }))).Item).toEqual({
      ...key('types'),
      word: 'x',
      n: 1,
    });
  });

  it('refuses a key that is not the schema, an empty key string and an item over 400 KB', async () => {
    await refused(t.doc.send(new GetCommand({ TableName: t.table, Key: { ...key('schema'), extra: 'x' } })));
    await refused(t.doc.send(new PutCommand({ TableName: t.table, Item: { pk: '', sk: 'X' } })));
    await refused(
      t.doc.send(
        new PutCommand({ TableName: t.table, Item: { ...key('big'), blob: 'x'.repeat(410 * 1024) } }),
      ),
    );
  });

  it('answers UPDATED_NEW with the written attributes, removes list elements by their old index, and drops an emptied set', async () => {
    await t.doc.send(
      new PutCommand({
        TableName: t.table,
        Item: { ...key('answers'), kept: 'k', nums: [0, 1, 2, 3, 4], tags: new Set(['a', 'b']) },
      }),
    );
    const out = await t.doc.send(
      new UpdateCommand({
        TableName: t.table,
        Key: key('answers'),
        UpdateExpression: 'SET fresh = :v DELETE tags :all',
        ExpressionAttributeValues: { ':v': 'new', ':all': new Set(['a', 'b']) },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    expect(out.Attributes).toEqual({ fresh: 'new' });
    await t.doc.send(
      new UpdateCommand({
        TableName: t.table,
        Key: key('answers'),
        UpdateExpression: 'REMOVE nums[0], nums[2]',
      }),
    );
    expect((await t.doc.send(new GetCommand({ TableName: t.table, Key: key('answers') }))).Item).toEqual({
      ...key('answers'),
      kept: 'k',
      fresh: 'new',
      nums: [1, 3, 4],
    });
  });

  it('adds to a number, unions a set, and refuses REMOVE under a map that is not there', async () => {
    await t.doc.send(
      new PutCommand({ TableName: t.table, Item: { ...key('add'), n: 5, tags: new Set(['a']) } }),
    );
    const out = await t.doc.send(
      new UpdateCommand({
        TableName: t.table,
        Key: key('add'),
        UpdateExpression: 'ADD n :two, tags :more',
        ExpressionAttributeValues: { ':two': 2, ':more': new Set(['b', 'a']) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    expect(out.Attributes?.n).toBe(7);
    expect([...((out.Attributes?.tags as Set<string> | undefined) ?? [])].sort()).toEqual(['a', 'b']);
    await refused(
      t.doc.send(
        new UpdateCommand({ TableName: t.table, Key: key('add'), UpdateExpression: 'REMOVE nothing.here' }),
      ),
    );
  });

  it('returns the old item of a failed condition only when asked, in wire form', async () => {
    await t.doc.send(new PutCommand({ TableName: t.table, Item: { ...key('held'), owner: 'a' } }));
    const put = (extra: object) =>
      t.doc.send(
        new PutCommand({
          TableName: t.table,
          Item: { ...key('held'), owner: 'b' },
          ConditionExpression: 'attribute_not_exists(pk)',
          ...extra,
        }),
      );
    await expect(put({})).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    const err = await put({ ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }).catch((e: unknown) => e);
    expect((err as { Item?: unknown }).Item).toMatchObject({ owner: { S: 'a' } });
  });
}

describeMoto(moto, 'DynamoDB expressions (moto over HTTP)', () => expressionContract(motoTarget));
describe('DynamoDB expressions on the engine state table (local twin)', () =>
  expressionContract(localTarget));
