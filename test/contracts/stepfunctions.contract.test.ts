import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import {
  CreateStateMachineCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsEngine, resolveAwsTargets } from '../../cli/engine/aws-engine.ts';
import type { EngineDefinitions } from '../../cli/engine/definitions.ts';
import { LocalEngine } from '../../cli/engine/engine.ts';
import { SfnExecutionStarter, SfnTaskCallbacks } from '../../functions/adapters/sfn.ts';
import { TaskTokenGoneError } from '../../shared/approvals/decide.ts';
import type { ApprovalResultV1 } from '../../shared/messages/promotion.ts';
import type { ExecutionStarter, ExecutionStatus, TaskCallbacks } from '../../shared/ports.ts';
import { fixtureDefinitions } from '../engine/fixture-stack.ts';
import { stagingReady } from '../functions/approvals.ts';
import { ACCOUNT, clientConfig, describeMoto, REGION, useMoto } from '../support/moto.ts';

/**
 * Step Functions as the CLI (`--engine aws`) and the Lambdas use it, against moto over HTTP, and
 * the same starter/callback contract against the embedded engine.
 *
 * moto executes state machines only with `execute_state_machine` on (then it runs
 * `.waitForTaskToken` SQS tasks for real and honours SendTaskSuccess/Failure); GetExecutionHistory
 * ignores maxResults and never pages in either mode, so history pagination is not testable here.
 */

const moto = useMoto();
const ROLE = `arn:aws:iam::${ACCOUNT}:role/releng-sfn`;

interface Finished {
  status: ExecutionStatus;
  error?: string;
  cause?: string;
}

/** What the contract needs of an implementation: its ports and a way to watch one execution. */
interface StarterBackend {
  starter: ExecutionStarter;
  callbacks: TaskCallbacks;
  status(name: string): Promise<ExecutionStatus | undefined>;
  /** The task token the promotion's approval task is waiting on. */
  token(name: string): Promise<string>;
  finished(name: string): Promise<Finished>;
  /** moto 5.2.1's SendTaskFailure handler passes `error` on and drops `cause`. */
  keepsFailureCause: boolean;
  cleanup(): Promise<void>;
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let machines = 0;

/**
 * A promotion-like machine in moto: one `.waitForTaskToken` task that posts its token to SQS.
 * Each starts from an emptied moto: moto 5.2.1, executing, answers HTTP 500 to any StartExecution
 * after the server's first execution (it deep-copies the machine and trips over the first run's
 * thread locks: "cannot pickle '_thread.RLock' object"), so each test runs one execution.
 */
async function motoPromotion() {
  await moto.reset();
  await moto.configure({ stepfunctions: { execute_state_machine: true } });
  const sfn = new SFNClient(clientConfig(moto));
  const sqs = new SQSClient(clientConfig(moto));
  const queue = (await sqs.send(new CreateQueueCommand({ QueueName: `approvals-${machines + 1}` })))
    .QueueUrl!;
  const definition = {
    StartAt: 'Request approval',
    States: {
      'Request approval': {
        Type: 'Task',
        Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
        Parameters: {
          QueueUrl: queue,
          MessageBody: { 'taskToken.$': '$$.Task.Token', 'execution.$': '$$.Execution.Name' },
        },
        End: true,
      },
    },
  };
  const machine = await sfn.send(
    new CreateStateMachineCommand({
      name: `promotion-${++machines}`,
      definition: JSON.stringify(definition),
      roleArn: ROLE,
    }),
  );
  const tokens = new Map<string, string>();
  const token = (name: string) =>
    until(async () => {
      if (tokens.has(name)) return tokens.get(name);
      const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue, MaxNumberOfMessages: 10 }));
      for (const m of got.Messages ?? []) {
        const body = JSON.parse(m.Body ?? '{}') as { taskToken: string; execution: string };
        tokens.set(body.execution, body.taskToken);
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queue, ReceiptHandle: m.ReceiptHandle }));
      }
      return tokens.get(name);
    }, `the task token of ${name}`);
  const engine = new AwsEngine({ stateMachines: { promotion: machine.stateMachineArn! } }, sfn, sqs);
  return { sfn, sqs, engine, token, arn: machine.stateMachineArn! };
}

const motoDescribe = (engine: AwsEngine) => async (name: string) => {
  try {
    return await engine.describe(`promotion:${name}`);
  } catch (err) {
    if ((err as Error).name === 'ExecutionDoesNotExist') return undefined;
    throw err;
  }
};

function motoBackend(kind: 'AwsEngine' | 'SfnExecutionStarter') {
  return async (): Promise<StarterBackend> => {
    const { sfn, engine, token, arn } = await motoPromotion();
    const describeIt = motoDescribe(engine);
    const lambdaStarter = new SfnExecutionStarter(sfn, { promotion: arn });
    return {
      starter: kind === 'AwsEngine' ? engine : lambdaStarter,
      callbacks: new SfnTaskCallbacks(sfn),
      // AwsEngine has no status(): the CLI describes executions instead.
      status: async (name) =>
        kind === 'AwsEngine' ? (await describeIt(name))?.status : lambdaStarter.status('promotion', name),
      token,
      finished: (name) =>
        until(async () => {
          const d = await describeIt(name);
          return d && d.status !== 'RUNNING' ? d : undefined;
        }, `${name} to finish`),
      keepsFailureCause: false,
      cleanup: async () => {},
    };
  };
}

/** The embedded engine on a synthesized stack whose promotion waits on an approval Lambda's token. */
let definitions: EngineDefinitions | undefined;
async function localBackend(): Promise<StarterBackend> {
  definitions ??= fixtureDefinitions();
  const root = mkdtempSync(join(tmpdir(), 'releng-contract-sfn-'));
  const tokens = new Map<string, string>();
  const engine = new LocalEngine({
    root,
    definitions,
    waitMs: 20,
    retryMsPerSecond: 10,
    functions: () => ({
      'approval-request': async (event) => {
        const { taskToken, digest } = event as { taskToken: string; digest: string };
        tokens.set(digest, taskToken);
        return {};
      },
    }),
  });
  return {
    starter: engine,
    callbacks: engine.tokens,
    status: (name) => engine.status('promotion', name),
    token: (name) => until(async () => tokens.get(name), `the task token of ${name}`),
    finished: (name) => engine.wait(name),
    keepsFailureCause: true,
    cleanup: async () => {
      for (const token of tokens.values())
        await engine.tokens.fail(token, 'Cleanup', 'test over').catch(() => {});
      await engine.idle();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

const approved = (approvalId: string): ApprovalResultV1 => ({
  version: 1,
  outcome: 'APPROVED',
  approvalId,
  digest: 'a'.repeat(64),
  decidedBy: 'AIDAALICE',
  decidedAt: '2026-11-27T10:05:00Z',
});

/** The contract: one body for every implementation of ExecutionStarter + TaskCallbacks. */
function starterContract(make: () => Promise<StarterBackend>) {
  // A fresh backend per test: see motoPromotion.
  let b: StarterBackend;
  beforeEach(async () => {
    b = await make();
  });
  afterEach(() => b?.cleanup());
  // The fixture's approval task is keyed by `digest`; moto's by the execution name.
  const input = (name: string, extra: object = {}) => ({ digest: name, ...extra });

  it('starts an execution once per name; a second start with other input joins the first', async () => {
    const first = await b.starter.start('promotion', 'promote-once', input('promote-once', { n: 1 }));
    expect(first.started).toBe(true);
    expect(await b.status('promote-once')).toBe('RUNNING');
    const second = await b.starter.start('promotion', 'promote-once', input('promote-once', { n: 2 }));
    expect(second).toEqual({ executionId: first.executionId, started: false });
  });

  it('knows no status for a name never started', async () => {
    expect(await b.status('promote-never')).toBeUndefined();
  });

  it('ends the waiting task with SendTaskFailure, naming error and cause; the token is then gone', async () => {
    await b.starter.start('promotion', 'promote-rejected', input('promote-rejected'));
    const token = await b.token('promote-rejected');
    await b.callbacks.fail(token, 'ApprovalRejected', 'rejected by AIDABOB: kernel regression');
    const finished = await b.finished('promote-rejected');
    expect(finished).toMatchObject({ status: 'FAILED', error: 'ApprovalRejected' });
    if (b.keepsFailureCause) expect(finished.cause).toContain('rejected by AIDABOB: kernel regression');
    // (moto 5.2.1 accepts a second SendTaskFailure of a used token; SendTaskSuccess it refuses.)
    await expect(b.callbacks.succeed(token, approved('promote-rejected-0'))).rejects.toBeInstanceOf(
      TaskTokenGoneError,
    );
  });
}

describe('execution starter and task callbacks on the embedded engine (local twin)', () =>
  starterContract(localBackend));

describeMoto(moto, 'Step Functions against moto, executing state machines', () => {
  describe('through the Lambdas adapter (SfnExecutionStarter, SfnTaskCallbacks)', () =>
    starterContract(motoBackend('SfnExecutionStarter')));
  describe('through the CLI engine (AwsEngine)', () => starterContract(motoBackend('AwsEngine')));

  it('SendTaskSuccess ends the execution SUCCEEDED with the result as its output, once', async () => {
    const { engine, token } = await motoPromotion();
    await engine.start('promotion', 'promote-approved', { digest: 'd' });
    const callbacks = new SfnTaskCallbacks(new SFNClient(clientConfig(moto)));
    const result = approved('promote-approved-0');
    await callbacks.succeed(await token('promote-approved'), result);
    const done = await until(async () => {
      const d = await engine.describe('promotion:promote-approved');
      return d.status === 'RUNNING' ? undefined : d;
    }, 'promote-approved to finish');
    expect(done).toMatchObject({ name: 'promote-approved', status: 'SUCCEEDED', output: result });
    const states = (await engine.history('promotion:promote-approved')).map(
      (e) => `${e.type} ${e.state ?? ''}`,
    );
    expect(states).toEqual(
      expect.arrayContaining([
        'ExecutionStarted ',
        'TaskStateEntered Request approval',
        'ExecutionSucceeded ',
      ]),
    );
    await expect(callbacks.succeed(await token('promote-approved'), result)).rejects.toBeInstanceOf(
      TaskTokenGoneError,
    );
  });

  it('refuses a token it never issued as gone (InvalidToken)', async () => {
    const callbacks = new SfnTaskCallbacks(new SFNClient(clientConfig(moto)));
    await expect(callbacks.fail('not-a-token', 'X', 'y')).rejects.toThrow(/^InvalidToken/);
  });
});

describeMoto(moto, 'Step Functions against moto, listing and paging (executions recorded, not run)', () => {
  let sfn: SFNClient;
  let engine: AwsEngine;
  const arns = { compose: '', promotion: '' };
  const RUNNING_PROMOTIONS = 230;

  beforeAll(async () => {
    await moto.configure({ stepfunctions: { execute_state_machine: false } });
    sfn = new SFNClient(clientConfig(moto));
    const definition = JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Succeed' } } });
    for (const name of ['compose', 'promotion'] as const) {
      const created = await sfn.send(
        new CreateStateMachineCommand({ name: `releng-${name}`, definition, roleArn: ROLE }),
      );
      arns[name] = created.stateMachineArn!;
    }
    // The stack's outputs as CloudFormation reports them, logical ids suffixed with a hash.
    const cfn = new CloudFormationClient(clientConfig(moto));
    await cfn.send(
      new CreateStackCommand({
        StackName: 'Releng-contract',
        TemplateBody: JSON.stringify({
          Resources: { PromotionQueue: { Type: 'AWS::SQS::Queue' } },
          Outputs: {
            ComposeStateMachineArnB3C1E2F0: { Value: arns.compose },
            PromotionStateMachineArn5D2A9C11: { Value: arns.promotion },
            PromotionQueueUrlA1B2C3D4: { Value: { Ref: 'PromotionQueue' } },
          },
        }),
      }),
    );
    engine = new AwsEngine(
      await resolveAwsTargets(cfn, 'Releng-contract', {}),
      sfn,
      new SQSClient(clientConfig(moto)),
    );
    const release = stagingReady();
    for (let i = 0; i < RUNNING_PROMOTIONS; i++) {
      await sfn.send(
        new StartExecutionCommand({
          stateMachineArn: arns.promotion,
          name: `promote-8-stable-${String(i).padStart(3, '0')}`,
          input: JSON.stringify({ version: 1, releases: [release] }),
        }),
      );
    }
    for (let i = 0; i < 3; i++) {
      await sfn.send(
        new StartExecutionCommand({ stateMachineArn: arns.compose, name: `compose-${i}`, input: '{}' }),
      );
    }
  });

  it('finds the state machines and the promotion queue in the stack outputs', () => {
    expect(engine.targets).toEqual({
      stateMachines: { compose: arns.compose, promotion: arns.promotion },
      promotionQueueUrl: expect.stringMatching(new RegExp(`^http.*/${ACCOUNT}/`)),
    });
    expect(arns.promotion).toBe(`arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:releng-promotion`);
  });

  it('lists every pending approval, across ListExecutions pages', async () => {
    const pending = await engine.pendingApprovals();
    expect(pending).toHaveLength(RUNNING_PROMOTIONS);
    expect(new Set(pending.map((p) => p.approvalId)).size).toBe(RUNNING_PROMOTIONS);
    expect(pending[0]?.request.digest).toBe(stagingReady().digest);
  });

  it('lists the most recent executions of each machine, bounded by the limit', async () => {
    const listed = await engine.list(10);
    expect(listed.filter((r) => r.stateMachine === 'promotion')).toHaveLength(10);
    expect(
      listed
        .filter((r) => r.stateMachine === 'compose')
        .map((r) => r.name)
        .sort(),
    ).toEqual(['compose-0', 'compose-1', 'compose-2']);
    expect(listed.every((r) => r.status === 'RUNNING')).toBe(true);
  });

  it('describes an execution by MACHINE:NAME with its parsed input', async () => {
    const record = await engine.describe('promotion:promote-8-stable-007');
    expect(record).toMatchObject({
      name: 'promote-8-stable-007',
      stateMachine: 'promotion',
      status: 'RUNNING',
    });
    expect(record.input).toEqual({ version: 1, releases: [stagingReady()] });
    await expect(engine.describe('promotion:promote-8-stable-999')).rejects.toMatchObject({
      name: 'ExecutionDoesNotExist',
    });
  });

  it('refuses a second start of a name with other input (ExecutionAlreadyExists) and reports it not started', async () => {
    const again = await engine.start('compose', 'compose-0', { other: true });
    expect(again).toEqual({
      executionId: `${arns.compose.replace(':stateMachine:', ':execution:')}:compose-0`,
      started: false,
    });
  });

  it('reads a whole history through nextToken (moto answers in one page)', async () => {
    const executionArn = `${arns.compose.replace(':stateMachine:', ':execution:')}:compose-1`;
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1 }));
    // moto ignores maxResults here: say so, so a moto that starts paging shows up.
    expect(page.nextToken).toBeUndefined();
    const events = await engine.history('compose:compose-1');
    expect(events.map((e) => e.type)).toEqual(page.events?.map((e) => e.type));
    expect(events[0]).toMatchObject({ type: 'ExecutionStarted' });
  });
});
