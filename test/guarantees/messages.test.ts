import { SendTaskFailureCommand, SendTaskSuccessCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stateMachineSender } from '../../cli/engine/adapters/messaging.ts';
import { SfnExecutionStarter, SfnTaskCallbacks } from '../../functions/adapters/sfn.ts';
import { createKojiEventsHandler } from '../../functions/koji-events/process.ts';
import { createPromotionEventsHandler } from '../../functions/promotion-events/process.ts';
import { requestApproval } from '../../shared/approvals/request.ts';
import { DIGEST, OTHER_DIGEST, stagingReady } from '../functions/approvals.ts';
import { fakeStepFunctions } from '../functions/sfn-fake.ts';
import {
  bashBuild,
  COMPOSE_ARN,
  captureLog,
  manualClock,
  PROMOTION_ARN,
  tempStores,
  testConfig,
} from '../functions/support.ts';
import { seededRandom } from './fault-loop.ts';
import { SimulatedQueue } from './sqs-sim.ts';

/**
 * Guarantee 4: every event is handled once or dead-lettered. Seeded fuzzing of delivery:
 * duplicates (same message redelivered, and the producer sending one event twice), random
 * order and batching, throttled StartExecution, and Lambda invocations that crash after their
 * work; the counts of started executions, callbacks and dead letters must be exact.
 */
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const LANE_TAGS = {
  '8/Rocky': 'dist-rocky8-updates-build',
  '8/Extras': 'dist-rocky8-extras-build',
  '9/Rocky': 'dist-rocky9-updates-build',
};
const MALFORMED = [
  '',
  'null',
  '{"topic": "buildsys.tag", ',
  JSON.stringify({ topic: 'buildsys.repo.init', body: {} }),
  bashBuild(1).replace('"bash"', '"bash;reboot"'),
  JSON.stringify({ topic: 'buildsys.tag', body: { tag: { name: '../../etc' } } }),
];

let stores: Awaited<ReturnType<typeof tempStores>>;
let sfn: ReturnType<typeof fakeStepFunctions>;
let clock: ReturnType<typeof manualClock>;

beforeEach(async () => {
  clock = manualClock();
  stores = await tempStores(clock);
  sfn = fakeStepFunctions();
});
afterEach(() => stores.cleanup());

function kojiHandler() {
  return createKojiEventsHandler(
    {
      config: testConfig(),
      lanes: stores.lanes,
      locks: stores.locks,
      starter: new SfnExecutionStarter(sfn.client, { compose: COMPOSE_ARN }),
      clock,
    },
    captureLog(),
  );
}

describe('koji events under duplicate, reordered and redelivered delivery', () => {
  it.each(SEEDS)(
    'seed %i: one compose per lane, exactly the malformed bodies dead-lettered',
    async (seed) => {
      const random = seededRandom(seed);
      const queue = new SimulatedQueue(random);
      let n = 0;
      for (const tag of Object.values(LANE_TAGS))
        for (let build = 1; build <= 15; build++) {
          const body = bashBuild(build, tag);
          queue.send(`m${n++}`, body);
          if (random() < 0.3) queue.send(`m${n++}`, body); // the producer sent it twice
        }
      for (const [i, body] of MALFORMED.entries()) queue.send(`bad-${i}`, body);
      // The first StartExecution of one lane is throttled: its records must come back, not vanish.
      let throttled = false;
      sfn.mock.on(StartExecutionCommand).callsFake((input) => {
        if (!throttled && input.name.startsWith('compose-8-Extras')) {
          throttled = true;
          throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
        }
        if (sfn.executions.has(input.name))
          throw Object.assign(new Error(`Execution Already Exists: ${input.name}`), {
            name: 'ExecutionAlreadyExists',
          });
        sfn.executions.set(input.name, { input: JSON.parse(input.input), status: 'RUNNING' });
        return {
          executionArn: `${COMPOSE_ARN.replace(':stateMachine:', ':execution:')}:${input.name}`,
          startDate: new Date(),
        };
      });
      // The second invocation crashes after its work: SQS delivers that whole batch again. (With
      // the throttle that makes at most two failed receives of a good record, under the three of
      // the redrive policy, so every good record must end handled and only bad ones dead.)
      await queue.drain(kojiHandler(), (i) => i === 2);

      expect(throttled).toBe(true);
      expect(queue.crashes).toBeGreaterThan(0);
      expect([...sfn.executions.keys()].map((name) => name.replace(/-\d{8}T\d{6}Z$/, '')).sort()).toEqual([
        'compose-8-Extras',
        'compose-8-Rocky',
        'compose-9-Rocky',
      ]);
      expect(queue.deadLetters.map((m) => m.id).sort()).toEqual(MALFORMED.map((_, i) => `bad-${i}`).sort());
      expect(queue.deleted).toHaveLength(n);
      expect(queue.waiting).toEqual([]);
    },
  );
});

describe('promotion events under duplicate, reordered and redelivered delivery', () => {
  const APPROVAL = (digest: string) => `promote-8-stable-${digest.slice(0, 32)}`;
  const THIRD_DIGEST = 'c'.repeat(64);
  const decision = (type: 'approve' | 'reject', digest: string, extra: object = {}) =>
    JSON.stringify({ version: 1, type, approvalId: APPROVAL(digest), digest, ...extra });

  it.each(SEEDS)(
    'seed %i: one promotion per digest, one callback per approval, forgeries dead-lettered',
    async (seed) => {
      const random = seededRandom(seed);
      const config = testConfig();
      for (const digest of [DIGEST, OTHER_DIGEST])
        await requestApproval(
          { config, approvals: stores.approvals, notifier: stores.notifier, clock },
          {
            version: 1,
            taskToken: `token-${digest[0]}`,
            approvalId: APPROVAL(digest),
            request: stagingReady({ digest }),
          },
        );
      sfn.mock.on(SendTaskSuccessCommand).resolves({});
      sfn.mock.on(SendTaskFailureCommand).resolves({});
      const queue = new SimulatedQueue(random);
      let n = 0;
      const send = (body: string, sender?: string, copies = 1 + Math.floor(random() * 3)) => {
        for (let i = 0; i < copies; i++) queue.send(`p${n++}`, body, sender);
      };
      const pipeline = stateMachineSender('staging');
      send(JSON.stringify(stagingReady({ digest: DIGEST })), pipeline);
      send(JSON.stringify(stagingReady({ digest: OTHER_DIGEST })), pipeline);
      send(decision('approve', DIGEST, { reason: 'reviewed' }), 'AIDAAPPROVERONE');
      send(decision('reject', OTHER_DIGEST, { reason: 'regression' }), 'AROAROLE:asmith');
      // Forgeries: not an approver, the requester approving their own, a digest the approval does not name.
      const forged = [
        [decision('approve', OTHER_DIGEST), 'AIDASOMEONEELSE'],
        [decision('approve', OTHER_DIGEST), 'AROAROLE:jdoe'],
        [
          JSON.stringify({ version: 1, type: 'approve', approvalId: APPROVAL(DIGEST), digest: OTHER_DIGEST }),
          'AROAROLE:bob',
        ],
        // staging-ready from an approver, or with no SenderId, for content no pipeline staged.
        [JSON.stringify(stagingReady({ digest: THIRD_DIGEST, requestedBy: 'mallory' })), 'AIDAAPPROVERONE'],
        [JSON.stringify(stagingReady({ digest: THIRD_DIGEST })), undefined],
        // The two-person rule under another name: jdoe requested, AROAROLE:JDoe approves.
        [decision('approve', OTHER_DIGEST), 'AROAROLE:JDoe'],
      ] as const;
      const forgedIds: string[] = [];
      for (const [body, sender] of forged) {
        forgedIds.push(`p${n}`);
        send(body, sender, 1);
      }
      const handler = createPromotionEventsHandler(
        {
          config,
          approvals: stores.approvals,
          callbacks: new SfnTaskCallbacks(sfn.client),
          starter: new SfnExecutionStarter(sfn.client, { promotion: PROMOTION_ARN }),
          clock,
        },
        captureLog(),
      );
      await queue.drain(handler, (i) => i === 2);

      expect(queue.crashes).toBe(1);
      expect(sfn.executions.size).toBe(2);
      const successes = sfn.mock.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input.taskToken);
      const failures = sfn.mock.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input.taskToken);
      // A crash after the callback redelivers the decision: the handler repeats only that callback,
      // to the same token, which Step Functions answers once; no other token is ever called.
      expect(new Set(successes)).toEqual(new Set([`token-${DIGEST[0]}`]));
      expect(new Set(failures)).toEqual(new Set([`token-${OTHER_DIGEST[0]}`]));
      expect((await stores.approvals.get(APPROVAL(DIGEST)))?.status).toBe('APPROVED');
      expect((await stores.approvals.get(APPROVAL(OTHER_DIGEST)))?.status).toBe('REJECTED');
      // A late duplicate of a decided approval is acknowledged or refused; only forgeries die.
      const dead = queue.deadLetters.map((m) => m.id);
      for (const id of forgedIds) expect(dead).toContain(id);
      expect(queue.waiting).toEqual([]);
    },
  );
});
