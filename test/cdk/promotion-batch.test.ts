import { beforeAll, describe, expect, it } from 'vitest';
import { PIPELINE_IDS } from '../../cdk/stacks/releng-stack.ts';
import { LocalDocumentClient } from '../../cli/engine/local-document-client.ts';
import { DynamoPromotionBatchStore } from '../../functions/adapters/promotion-batches.ts';
import { joinPromotionBatch } from '../../shared/approvals/batch.ts';
import type { ApprovalResultV1, StagingReadyV1 } from '../../shared/messages/index.ts';
import { stagingReady } from '../functions/approvals.ts';
import { manualClock, testConfig } from '../functions/support.ts';
import { type HostCommand, PipelineWorld } from './pipeline-world.ts';
import { type CfnTemplate, synth } from './synth.ts';

/**
 * The synthesized promotion state machine run on a batch: promotion-events' own batch logic
 * (over the DynamoDB adapter on the world's table) fills the batch and gives the input; the
 * machine waits, closes the batch, approves each release on its own, publishes the approved
 * ones (a SIG with `sync-to-prod --sig`) and writes the file lists once.
 */
const MAIN = stagingReady({ digest: 'a'.repeat(64) });
const SIG = stagingReady({ digest: 'c'.repeat(64), sig: 'kernel' });
const preflight = () => ({ version: 1, fileSystems: [], nowEpochSeconds: 1_800_000_000 });

let template: CfnTemplate;
beforeAll(() => {
  template = synth().json;
});

type Approver = (p: { approvalId: string; request: StagingReadyV1 }) => ApprovalResultV1;
const answer =
  (outcome: ApprovalResultV1['outcome']): Approver =>
  (p) => ({
    version: 1,
    outcome,
    approvalId: p.approvalId,
    digest: p.request.digest,
    decidedBy: 'jdoe',
    decidedAt: '2027-01-01T00:00:00Z',
    ...(outcome === 'APPROVED' ? {} : { reason: 'not this one' }),
  });

/** A world whose batch holds `releases`, and the promotion input promotion-events started. */
async function batchWorld(releases: StagingReadyV1[], approve: Approver) {
  const world = new PipelineWorld(template, () => ({ status: 'Success' }), {
    'efs-preflight': preflight,
    'approval-request': (p: Parameters<Approver>[0]) => {
      const result = approve(p);
      if (result.outcome === 'APPROVED') return result;
      throw Object.assign(new Error(JSON.stringify(result)), { name: 'ApprovalRejected' });
    },
  });
  const clock = manualClock();
  const batches = new DynamoPromotionBatchStore(new LocalDocumentClient(world.table), 'local', clock);
  const started: Array<{ name: string; input: unknown }> = [];
  const deps = {
    config: testConfig(),
    batches,
    clock,
    starter: {
      start: async (_machine: string, name: string, input: unknown) => {
        const fresh = !started.some((s) => s.name === name);
        if (fresh) started.push({ name, input });
        return { executionId: name, started: fresh };
      },
    },
  };
  for (const ready of releases) await joinPromotionBatch(deps, ready);
  expect(started).toHaveLength(1);
  return { world, batches, deps, execution: started[0]! };
}

const published = (commands: HostCommand[]) =>
  commands
    .filter((c) => c.operation !== 'doctor')
    .map((c) => [
      c.operation,
      c.parameters.sig ?? c.parameters.revision ?? '',
      c.parameters.approvedDigest ?? '',
    ]);

describe('a batched promotion', () => {
  it('approves each release on its own, publishes both, then writes the file lists once', async () => {
    const { world, batches, execution } = await batchWorld([MAIN, SIG], answer('APPROVED'));
    await world.run(PIPELINE_IDS.promotion, execution.input, execution.name);
    expect(published(world.commands)).toEqual([
      ['sync-to-prod', '8.7', MAIN.digest],
      ['sync-to-prod', 'kernel', SIG.digest],
      ['file-lists', '', ''],
    ]);
    // The SIG publish names its tree and no release of the main tree.
    expect(world.commands.find((c) => c.parameters.sig)?.parameters).toEqual({
      major: '8',
      sig: 'kernel',
      approvedDigest: SIG.digest,
    });
    expect(world.notifications.map((n) => n.subject)).toEqual(['releng promotion published']);
    const id = (execution.input as { batch: { id: string } }).batch.id;
    expect((await batches.get(id))?.closed).toBe(true);
  });

  it('publishes the approved release when the other one of the batch is rejected', async () => {
    const { world, execution } = await batchWorld([MAIN, SIG], (p) =>
      answer(p.request.sig ? 'REJECTED' : 'APPROVED')(p),
    );
    await world.run(PIPELINE_IDS.promotion, execution.input, execution.name);
    expect(published(world.commands)).toEqual([
      ['sync-to-prod', '8.7', MAIN.digest],
      ['file-lists', '', ''],
    ]);
    expect(world.notifications[0]!.message).toContain('not this one');
  });

  it('closes its batch, so a release staged after the window opens the next promotion', async () => {
    const { world, deps, execution } = await batchWorld([MAIN], answer('APPROVED'));
    await world.run(PIPELINE_IDS.promotion, execution.input, execution.name);
    const later = await joinPromotionBatch(deps, SIG);
    expect(later.started).toBe(true);
    expect(later.executionName).not.toBe(execution.name);
  });

  it('fails naming the batch when the state table holds no such batch, publishing nothing', async () => {
    const world = new PipelineWorld(template, () => ({ status: 'Success' }), { 'efs-preflight': preflight });
    const run = world.run(PIPELINE_IDS.promotion, { version: 1, batch: { id: 'nope', waitSeconds: 0 } });
    const failure = await run.then(
      () => undefined,
      (err: { cause?: { name?: string } }) => err.cause?.name,
    );
    expect(failure).toBe('UnknownBatch');
    expect(world.commands).toEqual([]);
  });
});
