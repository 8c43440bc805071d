import { readFile } from 'node:fs/promises';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SnsNotifier } from '../../functions/adapters/sns.ts';
import { createApprovalRequestHandler } from '../../functions/approval-request/process.ts';
import { DIGEST, stagingReady } from './approvals.ts';
import { captureLog, manualClock, tempStores, testConfig } from './support.ts';

const TOPIC = 'arn:aws:sns:eu-west-1:111111111111:releng-approvals';
const APPROVAL_ID = 'promote-8-stable-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';

let stores: Awaited<ReturnType<typeof tempStores>>;
let sns: AwsClientStub<SNSClient>;
let handler: ReturnType<typeof createApprovalRequestHandler>;
const clock = manualClock();

beforeEach(async () => {
  stores = await tempStores(clock);
  const client = new SNSClient({ region: 'eu-west-1' });
  sns = mockClient(client);
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  handler = createApprovalRequestHandler(
    { config: testConfig(), approvals: stores.approvals, notifier: new SnsNotifier(client, TOPIC), clock },
    captureLog(),
  );
});
afterEach(() => stores.cleanup());

const input = (taskToken = 'token-1') => ({
  version: 1,
  taskToken,
  approvalId: APPROVAL_ID,
  request: stagingReady(),
});

describe('approval-request', () => {
  it('stores the pending approval with token, digest, summary, requester and expiry', async () => {
    const out = await handler(input());
    expect(out).toEqual({
      approvalId: APPROVAL_ID,
      expiresAt: '2026-11-30T10:00:10.000Z',
      status: 'PENDING',
    });
    expect(await stores.approvals.get(APPROVAL_ID)).toMatchObject({
      taskToken: 'token-1',
      digest: DIGEST,
      requestedBy: 'jdoe',
      requestedAt: '2026-11-27T10:00:10.000Z',
      expiresAt: '2026-11-30T10:00:10.000Z',
      status: 'PENDING',
      summary: { packageCount: 1532 },
    });
    expect((await stores.approvals.listPending()).map((a) => a.approvalId)).toEqual([APPROVAL_ID]);
  });

  it('tells the approvers what is to be approved and the exact commands to decide', async () => {
    await handler(input());
    const [call] = sns.commandCalls(PublishCommand);
    const { TopicArn, Subject, Message } = call!.args[0].input;
    expect(TopicArn).toBe(TOPIC);
    expect(Subject).toBe('[releng] approve Rocky Linux 8.7 stable promotion?');
    for (const expected of [
      `Approval id:   ${APPROVAL_ID}`,
      `Staged digest: ${DIGEST}`,
      'Composes (2): Rocky-8-updates-20261127.0, Extras-8-updates-20261127.1',
      'Advisories (2): RLSA-2026:1234, RLBA-2026:0042',
      'Packages: 1532 in 14 repos',
      'Against production: 37 files added, 12 changed, 3 removed',
      `  releng approve ${APPROVAL_ID} --digest ${DIGEST}`,
      `  releng reject ${APPROVAL_ID} --digest ${DIGEST} --reason "<why>"`,
    ]) {
      expect(Message).toContain(expected);
    }
  });

  it('does not reopen a decided approval when the same request is retried', async () => {
    await handler(input());
    await stores.approvals.decide(APPROVAL_ID, 'APPROVED');
    const out = await handler(input());
    expect(out.status).toBe('APPROVED');
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
  });

  it('refuses input that is not ApprovalRequestInputV1, naming the field', async () => {
    await expect(handler({ ...input(), approvalId: 'promote;reboot' })).rejects.toThrow(
      expect.objectContaining({ name: 'ApprovalRequestInputError', message: 'approvalId: not a valid id' }),
    );
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it('writes notifications locally as JSON Lines', async () => {
    const local = createApprovalRequestHandler(
      { config: testConfig(), approvals: stores.approvals, notifier: stores.notifier, clock },
      captureLog(),
    );
    await local(input('token-2'));
    const [line] = (await readFile(stores.notifier.file, 'utf8')).trim().split('\n');
    expect(JSON.parse(line!).subject).toBe('[releng] approve Rocky Linux 8.7 stable promotion?');
  });
});
