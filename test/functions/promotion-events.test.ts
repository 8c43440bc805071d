import {
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNServiceException,
  StartExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stateMachineSender } from '../../cli/engine/adapters/messaging.ts';
import { SfnExecutionStarter, SfnTaskCallbacks } from '../../functions/adapters/sfn.ts';
import { createPromotionEventsHandler } from '../../functions/promotion-events/process.ts';
import { requestApproval } from '../../shared/approvals/request.ts';
import { ApprovalResultV1 } from '../../shared/messages/promotion.ts';
import { DIGEST, OTHER_DIGEST, stagingReady } from './approvals.ts';
import { fakeStepFunctions } from './sfn-fake.ts';
import {
  captureLog,
  manualClock,
  PROMOTION_ARN,
  sqsEvent,
  sqsRecord,
  tempStores,
  testConfig,
} from './support.ts';

const APPROVAL_ID = 'promote-8-stable-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
/** The staging state machine's role id, and the SenderId SQS reports for one of its sessions. */
const STAGING_ROLE = 'AROASTAGINGROLE';
const STAGING = `${STAGING_ROLE}:7c1f0a2b9e8d4c3b`;
const TOKEN = 'task-token-of-the-promotion-execution';

let stores: Awaited<ReturnType<typeof tempStores>>;
let sfn: ReturnType<typeof fakeStepFunctions>;
let clock: ReturnType<typeof manualClock>;
let log: ReturnType<typeof captureLog>;

function handlerWith(overrides: unknown = {}) {
  return createPromotionEventsHandler(
    {
      config: testConfig(overrides),
      approvals: stores.approvals,
      callbacks: new SfnTaskCallbacks(sfn.client),
      starter: new SfnExecutionStarter(sfn.client, { promotion: PROMOTION_ARN }),
      clock,
      pipelineSenders: [STAGING_ROLE],
    },
    log,
  );
}

const decision = (type: 'approve' | 'reject', extra: object = {}) =>
  JSON.stringify({ version: 1, type, approvalId: APPROVAL_ID, digest: DIGEST, ...extra });

async function send(body: string, sender?: string, overrides?: unknown) {
  const response = await handlerWith(overrides)(sqsEvent([sqsRecord('d1', body, sender)]));
  const refusal = log.lines.find((l) => l.message === 'promotion event failed')?.reason;
  return { failed: response.batchItemFailures.length > 0, refusal };
}

beforeEach(async () => {
  clock = manualClock();
  stores = await tempStores(clock);
  sfn = fakeStepFunctions();
  sfn.mock.on(SendTaskSuccessCommand).resolves({});
  sfn.mock.on(SendTaskFailureCommand).resolves({});
  log = captureLog();
  await requestApproval(
    { config: testConfig(), approvals: stores.approvals, notifier: stores.notifier, clock },
    { version: 1, taskToken: TOKEN, approvalId: APPROVAL_ID, request: stagingReady() },
  );
});
afterEach(() => stores.cleanup());

describe('staging-ready', () => {
  it('starts the promotion of that digest once, named after it, with the message as the one release of its input', async () => {
    const body = JSON.stringify(stagingReady());
    const handler = handlerWith();
    expect((await handler(sqsEvent([sqsRecord('s1', body, STAGING)]))).batchItemFailures).toEqual([]);
    expect((await handler(sqsEvent([sqsRecord('s2', body, STAGING)]))).batchItemFailures).toEqual([]);
    const starts = sfn.mock.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    expect(starts.map((s) => s.name)).toEqual([APPROVAL_ID, APPROVAL_ID]);
    expect(starts[0]?.stateMachineArn).toBe(PROMOTION_ARN);
    expect(JSON.parse(starts[0]!.input!)).toEqual({ version: 1, releases: [stagingReady()] });
    expect(sfn.executions.size).toBe(1);
    expect(log.lines.map((l) => l.message)).toEqual(['promotion started', 'promotion already started']);
  });
});

describe('staging-ready from anyone but the staging pipeline', () => {
  // A forged announcement: its summary and requester are what approvers would read.
  const forged = JSON.stringify(
    stagingReady({
      requestedBy: 'mallory',
      summary: { ...stagingReady().summary, packageCount: 1, diff: { added: 1, changed: 0, removed: 0 } },
    }),
  );
  it.each([
    ['no SenderId', undefined, 'the sender is unknown (no SenderId)'],
    [
      'an approver',
      'AIDAAPPROVERONE',
      'sender AIDAAPPROVERONE is not the staging pipeline; only its state machine announces staged releases',
    ],
    [
      'a session of another role',
      'AROAROLE:jdoe',
      'sender AROAROLE:jdoe is not the staging pipeline; only its state machine announces staged releases',
    ],
    [
      'a role whose id only starts like the staging role',
      'AROASTAGINGROLEX:s1',
      'sender AROASTAGINGROLEX:s1 is not the staging pipeline; only its state machine announces staged releases',
    ],
  ])('is refused from %s: no promotion starts', async (_what, sender, reason) => {
    const result = await send(forged, sender);
    expect(result).toEqual({ failed: true, refusal: `staging-ready refused: ${reason}` });
    expect(sfn.mock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it.each([
    [{ major: '7', revision: '7.9' }, 'major "7" is not configured (have 8, 9)'],
    [{ revision: '9.1' }, 'revision "9.1" does not belong to major 8'],
    [{ sigs: ['cloud'] }, 'SIG cloud is not configured for major 8'],
  ])(
    'from the pipeline, naming a release the config does not have (%j), is refused',
    async (fields, reason) => {
      const result = await send(JSON.stringify(stagingReady(fields)), STAGING);
      expect(result).toEqual({ failed: true, refusal: `staging-ready refused: ${reason}` });
      expect(sfn.mock.commandCalls(StartExecutionCommand)).toHaveLength(0);
    },
  );

  it("is accepted locally from the engine's staging state machine, as its SQS adapter sends", async () => {
    const local = createPromotionEventsHandler(
      {
        config: testConfig(),
        approvals: stores.approvals,
        callbacks: new SfnTaskCallbacks(sfn.client),
        starter: new SfnExecutionStarter(sfn.client, { promotion: PROMOTION_ARN }),
        clock,
      },
      log,
    );
    const body = JSON.stringify(stagingReady());
    const response = await local(sqsEvent([sqsRecord('s1', body, stateMachineSender('staging'))]));
    expect(response.batchItemFailures).toEqual([]);
    expect(sfn.executions.size).toBe(1);
    // The engine's name for a user is never a pipeline: a local engineer cannot announce either.
    expect((await local(sqsEvent([sqsRecord('s2', body, 'jdoe')]))).batchItemFailures).toHaveLength(1);
  });
});

describe('approve and reject', () => {
  it('approves: SendTaskSuccess with who, when and why, and the approval is recorded', async () => {
    clock.advance(3600);
    const result = await send(decision('approve', { reason: 'errata reviewed' }), 'AIDAAPPROVERONE');
    expect(result).toEqual({ failed: false, refusal: undefined });
    const [call] = sfn.mock.commandCalls(SendTaskSuccessCommand);
    expect(call?.args[0].input.taskToken).toBe(TOKEN);
    expect(ApprovalResultV1.parse(JSON.parse(call!.args[0].input.output!))).toEqual({
      version: 1,
      outcome: 'APPROVED',
      approvalId: APPROVAL_ID,
      digest: DIGEST,
      decidedBy: 'AIDAAPPROVERONE',
      decidedAt: '2026-11-27T11:00:10.000Z',
      reason: 'errata reviewed',
    });
    expect((await stores.approvals.get(APPROVAL_ID))?.status).toBe('APPROVED');
  });

  it('rejects: SendTaskFailure ApprovalRejected with the ApprovalResultV1 as cause', async () => {
    const result = await send(decision('reject', { reason: 'kernel regression' }), 'AROAROLE:asmith');
    expect(result.failed).toBe(false);
    const [call] = sfn.mock.commandCalls(SendTaskFailureCommand);
    expect(call?.args[0].input.error).toBe('ApprovalRejected');
    expect(JSON.parse(call!.args[0].input.cause!)).toMatchObject({
      outcome: 'REJECTED',
      decidedBy: 'AROAROLE:asmith',
      reason: 'kernel regression',
      digest: DIGEST,
    });
    expect(sfn.mock.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it.each([
    ['no SenderId', undefined, 'the sender is unknown (no SenderId)'],
    [
      'a sender who is not an approver',
      'AIDASOMEONEELSE',
      'sender AIDASOMEONEELSE is not a configured approver',
    ],
    [
      'the requester approving their own promotion',
      'AROAROLE:jdoe',
      'sender AROAROLE:jdoe requested this promotion; the two-person rule needs another approver',
    ],
  ])('refuses %s', async (_what, sender, reason) => {
    const result = await send(decision('approve'), sender);
    expect(result).toEqual({ failed: true, refusal: `decision refused: ${reason}` });
    expect(sfn.mock.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
    expect((await stores.approvals.get(APPROVAL_ID))?.status).toBe('PENDING');
  });

  it('lets the requester approve when the two-person rule is switched off', async () => {
    const result = await send(decision('approve'), 'AROAROLE:jdoe', {
      approval: { twoPersonRule: false, timeoutHours: 72 },
    });
    expect(result.failed).toBe(false);
    expect(sfn.mock.commandCalls(SendTaskSuccessCommand)).toHaveLength(1);
  });

  it('refuses a decision naming another digest than the pending approval', async () => {
    const result = await send(decision('approve', { digest: OTHER_DIGEST }), 'AIDAAPPROVERONE');
    expect(result.refusal).toBe(
      `decision refused: decision names digest ${OTHER_DIGEST}, but approval ${APPROVAL_ID} is for ${DIGEST}`,
    );
    expect(sfn.mock.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it('refuses an unknown approval', async () => {
    const result = await send(decision('approve', { approvalId: 'promote-9-stable-x' }), 'AIDAAPPROVERONE');
    expect(result.refusal).toBe('decision refused: approval promote-9-stable-x is unknown');
  });

  it('refuses an expired approval and ends the waiting task with ApprovalTimedOut', async () => {
    clock.advance(72 * 3600);
    const result = await send(decision('approve'), 'AIDAAPPROVERONE');
    expect(result.refusal).toBe(
      `decision refused: approval ${APPROVAL_ID} expired at 2026-11-30T10:00:10.000Z`,
    );
    const [call] = sfn.mock.commandCalls(SendTaskFailureCommand);
    expect(call?.args[0].input.error).toBe('ApprovalTimedOut');
    expect((await stores.approvals.get(APPROVAL_ID))?.status).toBe('TIMED_OUT');
    expect(sfn.mock.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it('refuses a second decision and names the first', async () => {
    await send(decision('approve'), 'AIDAAPPROVERONE');
    log.lines.length = 0;
    const result = await send(decision('reject', { reason: 'too late' }), 'AROAROLE:asmith');
    expect(result.refusal).toBe(
      `decision refused: approval ${APPROVAL_ID} is already approved by AIDAAPPROVERONE at 2026-11-27T10:00:10.000Z`,
    );
    expect(sfn.mock.commandCalls(SendTaskFailureCommand)).toHaveLength(0);
  });

  it('repeats only the callback when the same decision is retried after its callback failed', async () => {
    sfn.mock
      .on(SendTaskSuccessCommand)
      .rejectsOnce(
        new SFNServiceException({
          name: 'ThrottlingException',
          $fault: 'client',
          message: 'slow down',
          $metadata: {},
        }),
      )
      .resolves({});
    expect((await send(decision('approve'), 'AIDAAPPROVERONE')).failed).toBe(true);
    log.lines.length = 0;
    expect(await send(decision('approve'), 'AIDAAPPROVERONE')).toEqual({ failed: false, refusal: undefined });
    const outputs = sfn.mock.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input.output);
    expect(outputs).toHaveLength(2);
    expect(outputs[0]).toBe(outputs[1]);
  });

  it('refuses when the execution no longer waits on the token', async () => {
    sfn.mock
      .on(SendTaskSuccessCommand)
      .rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));
    const result = await send(decision('approve'), 'AIDAAPPROVERONE');
    expect(result.refusal).toMatch(
      new RegExp(
        `^decision refused: the promotion execution no longer waits for approval ${APPROVAL_ID}: TaskTimedOut`,
      ),
    );
  });

  it('takes identity from the SQS SenderId only, never from message attributes', async () => {
    const record = sqsRecord('d1', decision('approve'), 'AIDASOMEONEELSE');
    record.messageAttributes = { SenderId: { dataType: 'String', stringValue: 'AIDAAPPROVERONE' } };
    const response = await handlerWith()(sqsEvent([record]));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'd1' }]);
    expect(log.lines.at(-1)?.reason).toBe(
      'decision refused: sender AIDASOMEONEELSE is not a configured approver',
    );
  });

  it('refuses a body that tries to name the decider', async () => {
    const result = await send(decision('approve', { decidedBy: 'AIDAAPPROVERONE' }), 'AIDAAPPROVERONE');
    expect(result.failed).toBe(true);
    expect(sfn.mock.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
    expect(result.refusal).toContain('decidedBy');
  });
});
