import { Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, it } from 'vitest';
import { HostOperationDocuments } from '../../cdk/constructs/host-documents.ts';
import {
  HOST_COMMAND_FAILED,
  HOST_COMMAND_TIMED_OUT,
  POLL_BACKOFF,
  RunOnComposeHost,
  type RunOnComposeHostProps,
} from '../../cdk/constructs/run-on-compose-host.ts';

function build(overrides: Partial<RunOnComposeHostProps> = {}) {
  const stack = new Stack();
  const props: RunOnComposeHostProps = {
    operation: 'sync-to-prod',
    documents: new HostOperationDocuments(stack, 'Docs'),
    instanceId: 'i-0123456789abcdef0',
    outputLogGroup: new logs.LogGroup(stack, 'Logs'),
    parameters: { major: { path: '$.major' }, 'approved-digest': { path: '$.digest' } },
    ...overrides,
  };
  return { stack, state: new RunOnComposeHost(stack, 'Publish', props) };
}

function make(overrides: Partial<RunOnComposeHostProps> = {}) {
  const { stack, state } = build(overrides);
  return { json: rendered(stack, state) };
}

/** The state as it appears in a definition (branches render only inside a graph). */
function rendered(stack: Stack, state: sfn.State): any {
  const graph = stack.resolve(new sfn.StateGraph(state, 'test').toGraphJson()) as any;
  return graph.States[state.stateId];
}

const inner = (json: any) => json.Branches[0].States as Record<string, any>;

describe('RunOnComposeHost', () => {
  it('sends the operation document to the host with the parameters as SSM string lists', () => {
    const { json } = make();
    const send = inner(json)['Publish: send command'];
    expect(send.Resource).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':states:::aws-sdk:ssm:sendCommand']],
    });
    expect(send.Parameters.InstanceIds).toEqual(['i-0123456789abcdef0']);
    expect(send.Parameters.Parameters).toEqual({
      'major.$': 'States.Array($.major)',
      'approvedDigest.$': 'States.Array($.digest)',
    });
    expect(send.Parameters.CloudWatchOutputConfig.CloudWatchOutputEnabled).toBe(true);
    expect(send.TimeoutSeconds).toBe(60);
  });

  it('polls with a doubling wait, capped, and retries while the invocation does not exist yet', () => {
    const states = inner(make().json);
    expect(states['Publish: start backoff'].Parameters).toEqual({
      waitSeconds: POLL_BACKOFF.firstSeconds,
      elapsedSeconds: 0,
    });
    expect(states['Publish: wait'].SecondsPath).toBe('$.hostCommand.poll.waitSeconds');
    expect(states['Publish: back off'].Parameters['waitSeconds.$']).toBe(
      'States.MathAdd($.hostCommand.poll.waitSeconds, $.hostCommand.poll.waitSeconds)',
    );
    expect(states['Publish: keep interval'].Parameters.waitSeconds).toBe(POLL_BACKOFF.maxSeconds);
    const poll = states['Publish: poll'];
    expect(poll.Retry[0].ErrorEquals).toEqual(['Ssm.InvocationDoesNotExistException']);
    expect(poll.Next).toBe('Publish: done?');
  });

  it('fails with a named error whose cause names the status, exit code and log stream', () => {
    const states = inner(make().json);
    expect(states['Publish: failed']).toEqual({
      Type: 'Fail',
      Error: HOST_COMMAND_FAILED,
      CausePath: '$.hostCommand.failure.cause',
    });
    const cause = JSON.stringify(states['Publish: describe failure'].Parameters);
    expect(cause).toContain('releng/stdout');
    expect(cause).toContain('$.hostCommand.invocation.ResponseCode');
    expect(states['Publish: timed out'].Error).toBe(HOST_COMMAND_TIMED_OUT);
    const deadline = states['Publish: past deadline?'].Choices[0];
    expect(deadline.NumericGreaterThanEquals).toBe(12 * 3600 + 3600);
  });

  it('treats Pending, InProgress and Delayed as running and anything else but Success as failed', () => {
    const done = inner(make().json)['Publish: done?'];
    expect(done.Choices[0]).toEqual({
      Variable: '$.hostCommand.invocation.Status',
      StringEquals: 'Success',
      Next: 'Publish: succeeded',
    });
    const running = done.Choices[1].Or.map((c: any) => c.StringEquals);
    expect(running).toEqual(['Pending', 'InProgress', 'Delayed']);
    expect(done.Default).toBe('Publish: describe failure');
  });

  it('parses the one-line JSON result only when asked', () => {
    const plain = make().json;
    expect(plain.ResultSelector).not.toHaveProperty('output.$');
    const parsed = make({ parseOutput: true, resultPath: '$.verify' }).json;
    expect(parsed.ResultSelector['output.$']).toBe('$[0].output');
    expect(parsed.ResultPath).toBe('$.verify');
    expect(inner(parsed)['Publish: succeeded'].Parameters['output.$']).toBe(
      'States.StringToJson($.hostCommand.invocation.StandardOutputContent)',
    );
  });

  it('can be caught like a task', () => {
    const { stack, state } = build();
    state.addCatch(new sfn.Pass(stack, 'Cleanup'), { errors: [HOST_COMMAND_FAILED] });
    expect(rendered(stack, state).Catch[0].ErrorEquals).toEqual([HOST_COMMAND_FAILED]);
  });

  it('fails when a parameter is not one the operation takes', () => {
    expect(() =>
      make({
        parameters: { major: { path: '$.major' }, 'approved-digest': { path: '$.d' }, sig: { path: '$.s' } },
      }),
    ).toThrow(/unknown parameter "sig"/);
  });

  it('fails when a required parameter is missing', () => {
    expect(() => make({ parameters: { major: { path: '$.major' } } })).toThrow(
      /missing required parameter approved-digest/,
    );
  });

  it('fails when a literal value breaks the parameter pattern', () => {
    expect(() =>
      make({ parameters: { major: { value: "8'; rm -rf /" }, 'approved-digest': { path: '$.d' } } }),
    ).toThrow(/--major "8'; rm -rf \/" is not a valid major/);
  });

  it('fails when a root or config parameter is passed: they are fixed on AWS', () => {
    expect(() =>
      make({
        parameters: { root: { value: '/' }, major: { path: '$.m' }, 'approved-digest': { path: '$.d' } },
      }),
    ).toThrow(/unknown parameter "root"/);
  });

  it('fails when a path is not a JSONPath', () => {
    expect(() =>
      make({ parameters: { major: { path: 'major' }, 'approved-digest': { path: '$.d' } } }),
    ).toThrow(/"major" is not a JSONPath/);
  });
});
