import { Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, it } from 'vitest';
import { HostOperationDocuments } from '../../cdk/constructs/host-documents.ts';
import {
  HOST_COMMAND_FAILED,
  HOST_COMMAND_TIMED_OUT,
  RunOnComposeHost,
  type RunOnComposeHostProps,
} from '../../cdk/constructs/run-on-compose-host.ts';

function build(overrides: Partial<RunOnComposeHostProps> = {}) {
  const stack = new Stack();
  const props: RunOnComposeHostProps = {
    operation: 'sync-to-prod',
    documents: new HostOperationDocuments(stack, 'Docs'),
    hostCommand: new lambda.Function(stack, 'HostCommandFn', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    }),
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
  it('hands the host-command Lambda the document, host and parameters under a task token', () => {
    const { json } = make();
    const run = inner(json)['Publish: run'];
    expect(JSON.stringify(run.Resource)).toContain(':states:::lambda:invoke.waitForTaskToken');
    expect(run.Parameters.Payload).toMatchObject({
      version: 1,
      'taskToken.$': '$$.Task.Token',
      operation: 'sync-to-prod',
      instanceId: 'i-0123456789abcdef0',
      parameters: { 'major.$': 'States.Array($.major)', 'approvedDigest.$': 'States.Array($.digest)' },
      'execution.$': '$$.Execution.Id',
      state: 'Publish: run',
      timeoutSeconds: 12 * 3600,
    });
    expect(run.Parameters.Payload.documentName).toEqual({ Ref: expect.stringMatching(/^Docssynctoprod/) });
  });

  it('waits without polling: one task kept alive by heartbeats, bounded by the operation timeout', () => {
    const states = inner(make().json);
    expect(Object.keys(states)).toEqual(['Publish: run', 'Publish: timed out']);
    const run = states['Publish: run'];
    expect(run.HeartbeatSeconds).toBe(30 * 60);
    expect(run.TimeoutSeconds).toBe(12 * 3600 + 3600);
    // No Wait state, no GetCommandInvocation loop: history does not grow with the command's length.
    expect(JSON.stringify(states)).not.toMatch(/getCommandInvocation|"Type":"Wait"/);
    // A lost host (no heartbeat) or the deadline becomes HostCommandTimedOut.
    expect(run.Catch).toEqual([
      { ErrorEquals: ['States.Timeout', 'States.HeartbeatTimeout'], Next: 'Publish: timed out' },
    ]);
    expect(states['Publish: timed out']).toMatchObject({ Type: 'Fail', Error: HOST_COMMAND_TIMED_OUT });
    // A retried invoke could send the command twice: only throttles and service faults retry.
    expect(run.Retry.flatMap((r: { ErrorEquals: string[] }) => r.ErrorEquals)).toEqual([
      'Lambda.TooManyRequestsException',
      'Lambda.ServiceException',
    ]);
  });

  it("keeps releng-host's result as output only when asked", () => {
    expect(make().json.ResultSelector).toEqual({
      'commandId.$': '$[0].commandId',
      'status.$': '$[0].status',
    });
    expect(make({ parseOutput: true }).json.ResultSelector).toMatchObject({ 'output.$': '$[0].output' });
  });

  it('can be caught like a task', () => {
    const { stack, state } = build();
    state.addCatch(new sfn.Pass(stack, 'Cleanup'), { errors: [HOST_COMMAND_FAILED] });
    expect(rendered(stack, state).Catch[0].ErrorEquals).toEqual([HOST_COMMAND_FAILED]);
  });

  it('fails when a parameter is not one the operation takes', () => {
    expect(() =>
      make({
        parameters: {
          major: { path: '$.major' },
          'approved-digest': { path: '$.d' },
          compose: { path: '$.c' },
        },
      }),
    ).toThrow(/unknown parameter "compose"/);
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
