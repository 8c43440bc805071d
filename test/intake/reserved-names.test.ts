import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { approveCommand } from '../../cli/commands/approvals.ts';
import { SfnExecutionStarter, SfnTaskCallbacks } from '../../functions/adapters/sfn.ts';
import { createKojiEventsHandler } from '../../functions/koji-events/process.ts';
import { createPromotionEventsHandler } from '../../functions/promotion-events/process.ts';
import { LaneError, laneForTag, parseLane } from '../../shared/lanes.ts';
import { DIGEST } from '../functions/approvals.ts';
import { fakeStepFunctions } from '../functions/sfn-fake.ts';
import {
  COMPOSE_ARN,
  captureLog,
  kojiTag,
  manualClock,
  PROMOTION_ARN,
  sqsEvent,
  sqsRecord,
  tempStores,
  testConfig,
} from '../functions/support.ts';

/** Names every plain JavaScript object answers to: a lookup `obj[name]` finds them on any object. */
const RESERVED = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

let stores: Awaited<ReturnType<typeof tempStores>>;
let sfn: ReturnType<typeof fakeStepFunctions>;
const clock = manualClock();

beforeEach(async () => {
  stores = await tempStores(clock);
  sfn = fakeStepFunctions();
});
afterEach(() => stores.cleanup());

describe('koji tags and lanes named like Object.prototype members', () => {
  it.each(RESERVED)(
    'tag %s feeds no lane: acknowledged as ignored, no compose, no lane state',
    async (tag) => {
      const log = captureLog();
      const ignored: string[] = [];
      const handler = createKojiEventsHandler(
        {
          config: testConfig(),
          lanes: stores.lanes,
          locks: stores.locks,
          starter: new SfnExecutionStarter(sfn.client, { compose: COMPOSE_ARN }),
          clock,
        },
        log,
        { ignored: (_id, reason) => ignored.push(reason) },
      );
      const body = kojiTag(tag, { name: 'bash', version: '4.4', release: '1.el8' });
      const response = await handler(sqsEvent([sqsRecord('t1', body)]));
      expect(response.batchItemFailures).toEqual([]);
      expect(ignored).toEqual([`tag ${tag} feeds no configured lane`]);
      expect(sfn.starts()).toEqual([]);
      expect(laneForTag(testConfig(), tag)).toBeUndefined();
    },
  );

  it.each(['constructor', 'toString', 'valueOf'])('lane 8/%s is not a configured compose', (compose) => {
    expect(() => parseLane(testConfig(), `8/${compose}`)).toThrow(LaneError);
    expect(() => parseLane(testConfig(), `8/${compose}`)).toThrow(
      `lane 8/${compose}: compose ${compose} is not one of`,
    );
  });
});

describe('approval ids named like Object.prototype members', () => {
  it.each(RESERVED)('a decision on approval %s is refused with a one-line reason', async (approvalId) => {
    const log = captureLog();
    const handler = createPromotionEventsHandler(
      {
        config: testConfig(),
        approvals: stores.approvals,
        callbacks: new SfnTaskCallbacks(sfn.client),
        starter: new SfnExecutionStarter(sfn.client, { promotion: PROMOTION_ARN }),
        clock,
      },
      log,
    );
    const body = JSON.stringify({ version: 1, type: 'approve', approvalId, digest: DIGEST });
    const response = await handler(sqsEvent([sqsRecord('d1', body, 'AIDAAPPROVERONE')]));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'd1' }]);
    const reason = log.lines.find((l) => l.message === 'promotion event failed')?.reason as string;
    expect(reason).toBe(`approvalId: ${JSON.stringify(approvalId)} is a reserved name, not an id`);
    expect(sfn.mock.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it.each(RESERVED)('releng approve %s is a usage error naming the id', async (approvalId) => {
    const out = { line: () => {}, json: () => {}, error: () => {} } as never;
    await expect(approveCommand([approvalId, '--root', stores.root], out)).rejects.toThrow(
      `approve needs an approval id (see releng approvals), got ${JSON.stringify(approvalId)}`,
    );
  });
});
