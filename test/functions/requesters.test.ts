import { SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SfnExecutionStarter, SfnTaskCallbacks } from '../../functions/adapters/sfn.ts';
import { createKojiEventsHandler } from '../../functions/koji-events/process.ts';
import { createPromotionEventsHandler } from '../../functions/promotion-events/process.ts';
import { requestApproval } from '../../shared/approvals/request.ts';
import { ComposeRequestV1 } from '../../shared/messages/compose-request.ts';
import { DIGEST, stagingReady } from './approvals.ts';
import { fakeStepFunctions } from './sfn-fake.ts';
import {
  COMPOSE_ARN,
  captureLog,
  manualClock,
  PROMOTION_ARN,
  sqsEvent,
  sqsRecord,
  tempStores,
  testConfig,
} from './support.ts';

/**
 * Item 7 of issue 13: everyone whose koji tag change is in a compose is a requester of its
 * promotion, and the two-person rule recognizes each of them under any name (realm, role
 * session, case).
 */
const APPROVAL_ID = `promote-8-stable-${DIGEST.slice(0, 32)}`;

let stores: Awaited<ReturnType<typeof tempStores>>;
let sfn: ReturnType<typeof fakeStepFunctions>;
const clock = manualClock();

beforeEach(async () => {
  stores = await tempStores(clock);
  sfn = fakeStepFunctions();
  sfn.mock.on(SendTaskSuccessCommand).resolves({});
  sfn.mock.on(SendTaskFailureCommand).resolves({});
});
afterEach(() => stores.cleanup());

const tagBy = (user: string, release: string) =>
  JSON.stringify({
    topic: 'buildsys.tag',
    body: {
      tag: { name: 'dist-rocky8-updates-build' },
      build: { name: 'bash', version: '4.4', release, nvr: `bash-4.4-${release}` },
      user: { name: user },
    },
  });

/** koji-events over this test's stores, starting composes on the fake Step Functions. */
const kojiHandler = () =>
  createKojiEventsHandler(
    {
      config: testConfig(),
      lanes: stores.lanes,
      locks: stores.locks,
      starter: new SfnExecutionStarter(sfn.client, { compose: COMPOSE_ARN }),
      clock,
    },
    captureLog(),
  );

/** promotion-events over this test's stores; `extra` adds ports (the lane store). */
const promotionHandler = (log: ReturnType<typeof captureLog>, extra: object = {}) =>
  createPromotionEventsHandler(
    {
      config: testConfig(),
      approvals: stores.approvals,
      callbacks: new SfnTaskCallbacks(sfn.client),
      starter: new SfnExecutionStarter(sfn.client, { promotion: PROMOTION_ARN }),
      clock,
      ...extra,
    },
    log,
  );

/** A pending approval of APPROVAL_ID requested by `requestedBy`. */
const pendingRequest = (requestedBy: string) =>
  requestApproval(
    { config: testConfig(), approvals: stores.approvals, notifier: stores.notifier, clock },
    { version: 1, taskToken: 'token', approvalId: APPROVAL_ID, request: stagingReady({ requestedBy }) },
  );

async function composeRequestedBy(users: string[]): Promise<string> {
  const handler = kojiHandler();
  const records = users.map((user, i) => sqsRecord(`k${i}`, tagBy(user, `${i + 1}.el8`)));
  expect((await handler(sqsEvent(records))).batchItemFailures).toEqual([]);
  const [start] = sfn.starts();
  return ComposeRequestV1.parse(JSON.parse(start!.input!)).requestedBy;
}

async function decideAs(sender: string, requestedBy: string) {
  await pendingRequest(requestedBy);
  const log = captureLog();
  const handler = promotionHandler(log);
  const body = JSON.stringify({ version: 1, type: 'approve', approvalId: APPROVAL_ID, digest: DIGEST });
  await handler(sqsEvent([sqsRecord('d1', body, sender)]));
  return {
    approved: sfn.mock.commandCalls(SendTaskSuccessCommand).length === 1,
    refusal: log.lines.find((l) => l.message === 'promotion event failed')?.reason,
  };
}

describe('requesters of a compose', () => {
  it('names every koji user whose tag change is in the compose, each once', async () => {
    const requestedBy = await composeRequestedBy(['jdoe@ROCKYLINUX.ORG', 'kojira', 'asmith', 'kojira']);
    expect(requestedBy).toBe('jdoe@ROCKYLINUX.ORG,kojira,asmith');
  });
});

describe('the two-person rule over normalized identities', () => {
  it('refuses AROAROLE:jdoe approving a promotion jdoe@ROCKYLINUX.ORG requested', async () => {
    const result = await decideAs('AROAROLE:jdoe', 'jdoe@ROCKYLINUX.ORG');
    expect(result).toEqual({
      approved: false,
      refusal:
        'decision refused: sender AROAROLE:jdoe requested this promotion (as jdoe@ROCKYLINUX.ORG: both are jdoe); the two-person rule needs another approver',
    });
  });

  it('refuses any one of the compose requesters, whichever tagged first or last', async () => {
    const requestedBy = await composeRequestedBy(['jdoe@ROCKYLINUX.ORG', 'kojira', 'asmith']);
    for (const sender of ['AROAROLE:JDOE', 'AROAROLE:asmith@rockylinux.org']) {
      const result = await decideAs(sender, requestedBy);
      expect(result.approved).toBe(false);
      expect(result.refusal).toContain('the two-person rule needs another approver');
    }
  });

  it('lets an approver who requested nothing in the compose approve it', async () => {
    const requestedBy = await composeRequestedBy(['jdoe@ROCKYLINUX.ORG', 'kojira']);
    expect(await decideAs('AROAROLE:bob', requestedBy)).toEqual({ approved: true, refusal: undefined });
  });
});

describe('requesters across intake batches', () => {
  it('makes a tagger whose build joined a started compose in a later batch a requester of its promotion', async () => {
    const koji = kojiHandler();
    await koji(sqsEvent([sqsRecord('k1', tagBy('jdoe@ROCKYLINUX.ORG', '1.el8'))]));
    // A later batch in the same window joins the compose started by the first (not composing yet).
    await koji(sqsEvent([sqsRecord('k2', tagBy('asmith', '2.el8'))]));
    const starts = sfn.starts();
    expect(starts).toHaveLength(1);
    const compose = ComposeRequestV1.parse(JSON.parse(starts[0]!.input!));
    expect(compose.requestedBy).toBe('jdoe@ROCKYLINUX.ORG');

    const promotions = promotionHandler(captureLog(), { lanes: stores.lanes });
    const ready = stagingReady({ requestedBy: compose.requestedBy, requestId: compose.requestId });
    const out = await promotions(
      sqsEvent([sqsRecord('s1', JSON.stringify(ready), 'local:state-machine/staging')]),
    );
    expect(out.batchItemFailures).toEqual([]);
    const promotion = JSON.parse(sfn.starts().at(-1)!.input!);
    expect(promotion.releases[0].requestedBy).toBe('jdoe@ROCKYLINUX.ORG,asmith');
    // And so asmith cannot approve it alone.
    const result = await decideAs('AROAROLE:asmith', promotion.releases[0].requestedBy);
    expect(result.approved).toBe(false);
  });
});

describe('withdrawing a request through the promotion queue (AWS path)', () => {
  async function withdrawAs(sender: string, requestedBy: string) {
    await pendingRequest(requestedBy);
    const log = captureLog();
    const handler = promotionHandler(log);
    const body = JSON.stringify({
      version: 1,
      type: 'withdraw',
      approvalId: APPROVAL_ID,
      reason: 'wrong build',
    });
    const out = await handler(sqsEvent([sqsRecord('w1', body, sender)]));
    return { out, log, failed: sfn.mock.commandCalls(SendTaskFailureCommand) };
  }

  it('ends the request REJECTED when SQS says a requester sent it', async () => {
    const { out, failed } = await withdrawAs('AROAROLE:jdoe', 'jdoe@ROCKYLINUX.ORG,kojira');
    expect(out.batchItemFailures).toEqual([]);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.args[0].input.error).toBe('ApprovalRejected');
    expect(JSON.parse(failed[0]!.args[0].input.cause!)).toMatchObject({
      outcome: 'REJECTED',
      decidedBy: 'AROAROLE:jdoe',
      reason: 'withdrawn by the requester: wrong build',
    });
  });

  it('refuses a withdrawal from someone who did not request it, naming the requesters', async () => {
    const { out, log, failed } = await withdrawAs('AROAROLE:bob', 'jdoe@ROCKYLINUX.ORG');
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: 'w1' }]);
    expect(failed).toHaveLength(0);
    expect(log.lines.find((l) => l.message === 'promotion event failed')?.reason).toContain(
      'withdraw refused: AROAROLE:bob did not request',
    );
  });
});
