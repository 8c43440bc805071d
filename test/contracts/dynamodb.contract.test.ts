import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalAdapters } from '../../cli/local/index.ts';
import {
  createDocumentClient,
  type DocumentClient,
  DynamoApprovalStore,
  DynamoLaneStateStore,
  DynamoLockStore,
} from '../../functions/adapters/dynamodb.ts';
import { requestApproval } from '../../shared/approvals/request.ts';
import type { ApprovalResultV1 } from '../../shared/messages/promotion.ts';
import type { ApprovalStore, Clock, LaneStateStore, LockStore } from '../../shared/ports.ts';
import { stagingReady } from '../functions/approvals.ts';
import { manualClock, testConfig } from '../functions/support.ts';
import { createMotoStateTable, describeMoto, useMoto } from '../support/moto.ts';

/**
 * The state table adapters' contract, run with the same test bodies against DynamoDB as moto
 * speaks it over HTTP and against the local twin: the same adapters over the engine's
 * LocalTable through its LocalDocumentClient, as every local port runs them, so the twin
 * cannot drift from the service.
 */

const moto = useMoto();

/** The ports a backend serves; a local twin may serve some through other code than AWS's. */
interface Backend {
  locks?(clock: Clock): LockStore;
  approvals?(): ApprovalStore;
  lanes?(): LaneStateStore;
  cleanup(): Promise<void>;
}

type MakeBackend = () => Promise<Backend>;

/** The state table in moto, with the key schema of shared/state-table.ts. */
async function motoTable(): Promise<{ doc: DocumentClient; table: string }> {
  const { client, table } = await createMotoStateTable(moto, 'releng-state');
  return { doc: createDocumentClient(client), table };
}

/** What the Lambdas run on AWS: functions/' DynamoDB adapters. */
const viaMoto: MakeBackend = async () => {
  const { doc, table } = await motoTable();
  return {
    locks: (clock) => new DynamoLockStore(doc, table, clock),
    approvals: () => new DynamoApprovalStore(doc, table),
    lanes: () => new DynamoLaneStateStore(doc, table),
    cleanup: async () => {},
  };
};

/** What the embedded engine runs: createLocalAdapters over the engine's state table under a root. */
const viaEngine: MakeBackend = async () => {
  const root = mkdtempSync(join(tmpdir(), 'releng-contract-ddb-'));
  const adapters = (clock?: Clock) => createLocalAdapters(root, clock);
  return {
    locks: (clock) => adapters(clock).locks,
    approvals: () => adapters().approvals,
    lanes: () => adapters().lanes,
    cleanup: async () => rmSync(root, { recursive: true, force: true }),
  };
};

const DECIDED_AT = '2026-11-27T10:05:00Z';
const decision = (outcome: ApprovalResultV1['outcome'], decidedBy: string): ApprovalResultV1 => ({
  version: 1,
  outcome,
  approvalId: 'promote-8-stable-0',
  digest: 'a'.repeat(64),
  decidedBy,
  decidedAt: DECIDED_AT,
  reason: 'checked the diff',
});

/** The contract itself: one body, whatever stands behind the ports. */
type Port = 'locks' | 'approvals' | 'lanes';

function stateTableContract(make: MakeBackend, serves: readonly Port[]) {
  let backend: Backend;
  beforeAll(async () => {
    backend = await make();
  });
  afterAll(() => backend?.cleanup());
  const port = <K extends Port>(name: K) => {
    const get = backend[name];
    if (!get) throw new Error(`this backend serves no ${name}`);
    return get.bind(backend) as NonNullable<Backend[K]>;
  };
  const suite = (name: Port, title: string, body: () => void) => {
    if (serves.includes(name)) describe(title, body);
  };

  suite('locks', 'lock store', () => {
    it('refuses a second owner while the lock is unexpired, and names the holder', async () => {
      const clock = manualClock();
      const locks = port('locks')(clock);
      expect(await locks.acquire('lane:8/Rocky', 'compose-a', 600)).toEqual({ acquired: true });
      const second = await locks.acquire('lane:8/Rocky', 'compose-b', 600);
      expect(second).toEqual({
        acquired: false,
        holder: { owner: 'compose-a', expiresAt: new Date(clock.now().getTime() + 600_000).toISOString() },
      });
      expect((await locks.holder('lane:8/Rocky'))?.owner).toBe('compose-a');
    });

    it('is re-entrant for the same owner, which extends its expiry', async () => {
      const clock = manualClock();
      const locks = port('locks')(clock);
      expect(await locks.acquire('publish', 'promote-1', 60)).toEqual({ acquired: true });
      clock.advance(30);
      expect(await locks.acquire('publish', 'promote-1', 60)).toEqual({ acquired: true });
      clock.advance(45);
      // 75 s after the first take, 45 s after the second: still held.
      expect(await locks.holder('publish')).toEqual({
        owner: 'promote-1',
        expiresAt: new Date(clock.now().getTime() + 15_000).toISOString(),
      });
      expect((await locks.acquire('publish', 'promote-2', 60)).acquired).toBe(false);
    });

    it('lets another owner take over once the lock expired, before TTL removed the item', async () => {
      const clock = manualClock();
      const locks = port('locks')(clock);
      await locks.acquire('lane:9/Rocky', 'dead-run', 60);
      clock.advance(61);
      expect(await locks.holder('lane:9/Rocky')).toBeUndefined();
      expect(await locks.acquire('lane:9/Rocky', 'next-run', 60)).toEqual({ acquired: true });
      expect((await locks.holder('lane:9/Rocky'))?.owner).toBe('next-run');
    });

    it('is released only by its owner; releasing what one does not hold is a no-op', async () => {
      const clock = manualClock();
      const locks = port('locks')(clock);
      await locks.acquire('lane:8/Extras', 'owner-1', 600);
      await locks.release('lane:8/Extras', 'owner-2');
      expect((await locks.holder('lane:8/Extras'))?.owner).toBe('owner-1');
      await locks.release('lane:8/Extras', 'owner-1');
      expect(await locks.holder('lane:8/Extras')).toBeUndefined();
      await locks.release('lane:8/Extras', 'owner-1');
      await locks.release('never-taken', 'owner-1');
      expect(await locks.acquire('lane:8/Extras', 'owner-2', 600)).toEqual({ acquired: true });
    });

    it('lists the unexpired locks only', async () => {
      const clock = manualClock();
      const locks = port('locks')(clock);
      await locks.acquire('list:a', 'x', 600);
      await locks.acquire('list:b', 'y', 10);
      clock.advance(11);
      const listed = (await locks.list()).filter((l) => l.name.startsWith('list:'));
      expect(listed).toEqual([
        { name: 'list:a', owner: 'x', expiresAt: new Date(clock.now().getTime() + 589_000).toISOString() },
      ]);
    });
  });

  suite('approvals', 'approval store', () => {
    const newApproval = async (approvals: ApprovalStore, approvalId: string) =>
      requestApproval(
        { config: testConfig(), approvals, notifier: { publish: async () => {} }, clock: manualClock() },
        { version: 1, taskToken: `token-${approvalId}`, approvalId, request: stagingReady() },
      );

    it('reads back exactly what was put', async () => {
      const approvals = port('approvals')();
      const put = await newApproval(approvals, 'promote-8-stable-0');
      expect(await approvals.get('promote-8-stable-0')).toEqual(put);
      expect(await approvals.get('promote-unknown-0')).toBeUndefined();
    });

    it('decides exactly once, keeping the first decision', async () => {
      const approvals = port('approvals')();
      expect(
        await approvals.decide('promote-8-stable-0', 'APPROVED', decision('APPROVED', 'AIDAALICE')),
      ).toBe(true);
      expect(await approvals.decide('promote-8-stable-0', 'REJECTED', decision('REJECTED', 'AIDABOB'))).toBe(
        false,
      );
      expect(await approvals.get('promote-8-stable-0')).toMatchObject({
        status: 'APPROVED',
        decision: { decidedBy: 'AIDAALICE', outcome: 'APPROVED' },
      });
    });

    it('refuses to decide an approval that was never requested', async () => {
      expect(await port('approvals')().decide('promote-never-0', 'APPROVED')).toBe(false);
      expect(await port('approvals')().get('promote-never-0')).toBeUndefined();
    });

    it('lists only the pending approvals', async () => {
      const approvals = port('approvals')();
      await newApproval(approvals, 'promote-8-stable-1');
      await newApproval(approvals, 'promote-8-stable-2');
      await approvals.decide('promote-8-stable-2', 'REJECTED');
      const pending = await approvals.listPending();
      expect(pending.map((a) => a.approvalId).sort()).toEqual(['promote-8-stable-1']);
      expect(pending[0]).toMatchObject({ status: 'PENDING', taskToken: 'token-promote-8-stable-1' });
    });
  });

  suite('lanes', 'lane state store', () => {
    it('adds and removes NVRs as a set, idempotently', async () => {
      const lanes = port('lanes')();
      expect(await lanes.applyTagChanges('8/Rocky', ['b-1-1', 'a-1-1'], [])).toEqual({
        laneId: '8/Rocky',
        nvrs: ['a-1-1', 'b-1-1'],
        started: [],
      });
      expect((await lanes.applyTagChanges('8/Rocky', ['a-1-1', 'c-1-1'], ['b-1-1'])).nvrs).toEqual([
        'a-1-1',
        'c-1-1',
      ]);
      expect((await lanes.get('8/Rocky'))?.nvrs).toEqual(['a-1-1', 'c-1-1']);
      expect(await lanes.get('9/Rocky')).toBeUndefined();
    });

    it('keeps the last 10 started composes, newest last, and the succeeded digest', async () => {
      const lanes = port('lanes')();
      for (let i = 0; i < 12; i++) {
        await lanes.recordStarted('8/Extras', {
          executionName: `compose-${i}`,
          nvrDigest: `d${i}`,
          startedAt: `2026-11-27T10:00:${String(i).padStart(2, '0')}Z`,
        });
      }
      await lanes.recordSucceeded('8/Extras', 'd11');
      const state = await lanes.get('8/Extras');
      expect(state?.started.map((s) => s.executionName)).toEqual(
        Array.from({ length: 10 }, (_, i) => `compose-${i + 2}`),
      );
      expect(state?.succeededDigest).toBe('d11');
    });
  });
}

const ALL: Port[] = ['locks', 'approvals', 'lanes'];
describeMoto(moto, 'state table adapters against DynamoDB (moto over HTTP)', () =>
  stateTableContract(viaMoto, ALL),
);
describe('state table ports on the embedded engine (local twin)', () => stateTableContract(viaEngine, ALL));
