/**
 * What a host command costs a Step Functions execution, before and after host commands
 * completed by event: state transitions (billed) and history events (25,000 per execution at
 * most), for one command of a given length and for a whole minor release whose every compose
 * runs that long. The synthesized pipelines run on aws-local-stepfunctions with every Task
 * answered at once; Wait states take 0 ms but advance a simulated clock, and a host command
 * of the poll design stays InProgress until the clock reaches its length. It serves both
 * designs (SSM sendCommand/getCommandInvocation polling, and the host-command Lambda with a
 * task token), so the same file measures a checkout of either: see bench/README.md.
 * Run: `npx tsx bench/host-commands.ts [--hours H ...]`.
 */
import '../cli/engine/polyfill.ts';
import { Template } from 'aws-cdk-lib/assertions';
import { StateMachine } from 'aws-local-stepfunctions';
import { buildRelengApp } from '../cdk/build.ts';
import { type AslDefinition, allStates } from '../cli/engine/asl.ts';
import { aslFromTemplate } from '../cli/engine/template-asl.ts';
import { buildConfig } from '../shared/config/load.ts';

const args = process.argv.slice(2);
const hoursArgs = args.flatMap((a, i) => (args[i - 1] === '--hours' ? [Number(a)] : []));
const durations = hoursArgs.length ? hoursArgs : [6, 48];

/**
 * History events Step Functions writes for one visit of a state, by state type and resource
 * (from the history event types it documents: e.g. a .waitForTaskToken Lambda task is
 * TaskStateEntered, TaskScheduled, TaskStarted, TaskSubmitted, TaskSucceeded, TaskStateExited).
 */
function historyEventsOf(type: string, resource = ''): number {
  if (type === 'Task') {
    if (resource.includes('waitForTaskToken')) return 6;
    if (resource.includes('.sync')) return 6;
    return 5;
  }
  if (type === 'Parallel' || type === 'Map') return 4;
  if (type === 'Succeed' || type === 'Fail') return 1;
  return 2;
}

const HOST_RESULT = {
  ok: true,
  major: '8',
  channel: 'stable',
  revision: '8.10',
  digest: 'a'.repeat(64),
  summary: {
    composeIds: [],
    advisories: [],
    packageCount: 1,
    repoCount: 1,
    diff: { added: 0, changed: 0, removed: 0 },
  },
};

interface Cost {
  transitions: number;
  historyEvents: number;
  hostCommands: number;
}

async function cost(definition: AslDefinition, input: unknown, hostSeconds: number): Promise<Cost> {
  // One Map iteration at a time, so one simulated clock serves every poll loop; concurrency
  // changes when states run, not how many transitions or events they cost.
  const machine = structuredClone(definition);
  for (const { state } of allStates(machine)) if (state.Type === 'Map') state.MaxConcurrency = 1;
  let simulated = 0;
  let started = 0;
  let length = hostSeconds;
  let hostCommands = 0;
  // The event log is read asynchronously: the n-th poll waits until the n-th wait is counted.
  let polls = 0;
  let waitsSeen = 0;
  let caughtUp: (() => void) | undefined;
  const waitsCounted = (n: number) =>
    waitsSeen >= n ? Promise.resolve() : new Promise<void>((resolve) => (caughtUp = resolve));
  const byName = new Map(allStates(machine).map((s) => [s.name, s.state]));
  const handlers: Record<string, (input: unknown) => unknown> = {};
  const waits: Record<string, number> = {};
  const retries: Record<string, number> = {};
  for (const { name, state } of allStates(machine)) {
    if (state.Type === 'Wait') waits[name] = 0;
    if (state.Type === 'Task' || state.Type === 'Parallel' || state.Type === 'Map') retries[name] = 0;
    if (state.Type !== 'Task') continue;
    const resource = String(state.Resource);
    handlers[name] = async (payload: any) => {
      if (resource.endsWith('sendCommand')) {
        hostCommands += 1;
        started = simulated;
        // Composes run the given length; every other operation an hour.
        length = /HostDocumentscompose[A-F0-9]{8}$/.test(String(payload.DocumentName)) ? hostSeconds : 3600;
        return { Command: { CommandId: `c${hostCommands}` } };
      }
      if (resource.endsWith('getCommandInvocation')) {
        polls += 1;
        await waitsCounted(polls);
        const done = simulated - started >= length;
        return {
          Status: done ? 'Success' : 'InProgress',
          StatusDetails: '',
          ResponseCode: done ? 0 : -1,
          StandardOutputContent: JSON.stringify(HOST_RESULT),
        };
      }
      if (resource.includes('waitForTaskToken')) {
        if (payload?.Payload?.operation) {
          hostCommands += 1;
          return { commandId: `c${hostCommands}`, status: 'Success', output: HOST_RESULT };
        }
        return { version: 1, outcome: 'APPROVED', digest: 'a'.repeat(64) };
      }
      if (resource.includes('lambda:invoke'))
        return { Payload: { nowEpochSeconds: 1_800_000_000, version: 1, fileSystems: [] } };
      if (resource.includes('startExecution'))
        return { Status: 'SUCCEEDED', Output: {}, ExecutionArn: 'arn:x' };
      return {};
    };
  }
  const run = new StateMachine(machine as never, {
    validationOptions: { checkArn: false, checkPaths: false },
  }).run(input as never, {
    overrides: {
      taskResourceLocalHandlers: handlers as never,
      waitTimeOverrides: waits,
      retryIntervalOverrides: retries,
    },
    context: {
      Execution: { Id: 'arn:aws:states:us-east-1:0:execution:bench:bench', Name: 'bench' },
      Task: { Token: 'token' },
      State: { EnteredTime: '2027-01-01T00:00:00.000Z' },
    } as never,
  });
  let transitions = 0;
  let historyEvents = 2; // ExecutionStarted, ExecutionSucceeded
  for await (const event of run.eventLogs) {
    if (event.type !== 'StateEntered') continue;
    transitions += 1;
    const state = byName.get(event.state.name);
    historyEvents += historyEventsOf(state?.Type ?? 'Pass', String(state?.Resource ?? ''));
    const poll = (event.state.input as { hostCommand?: { poll?: { waitSeconds?: number } } }).hostCommand
      ?.poll;
    if (state?.Type === 'Wait' && poll?.waitSeconds) {
      simulated += poll.waitSeconds;
      waitsSeen += 1;
      caughtUp?.();
    }
  }
  await run.result;
  return { transitions, historyEvents, hostCommands };
}

const config = buildConfig({});
const { stack } = buildRelengApp({ config, bundling: false, nag: false });
const template = Template.fromStack(stack).toJSON();
const pipeline = (id: string) => aslFromTemplate(template, id) as unknown as AslDefinition;

/** The compose host step of the compose pipeline (its limit is 48 h), alone. */
const composeStep = allStates(pipeline('ComposePipeline')).find((s) => s.name === 'Compose')?.state;
if (!composeStep?.Branches?.[0]) throw new Error('no Compose host step in the compose pipeline');
const { Next: _next, Catch: _catch, ...alone } = composeStep as typeof composeStep & { Catch?: unknown };
const oneCommand: AslDefinition = {
  StartAt: 'Compose',
  States: { Compose: { ...alone, End: true, ResultPath: null } as never },
};
const item = {
  major: '8',
  channel: 'stable',
  revision: '',
  compose: { name: 'Rocky', kind: 'produce', resumeComposeId: '' },
};
const composes = Object.keys(config.majors['8']!.composes).map((name) => ({ name, kind: 'produce' }));
const minorRelease = {
  version: 1,
  major: '8',
  channel: 'stable',
  revision: '8.10',
  composes,
  sigs: [],
  requestedBy: 'bench',
  requestId: 'bench-1',
};

console.log('| what | host commands | state transitions | history events (of 25,000) |');
console.log('|---|---|---|---|');
for (const hours of durations) {
  const c = await cost(oneCommand, item, hours * 3600);
  console.log(
    `| one host command of ${hours} h | ${c.hostCommands} | ${c.transitions} | ${c.historyEvents} |`,
  );
}
const worst = Math.max(...durations);
const m = await cost(pipeline('MinorReleasePipeline'), minorRelease, worst * 3600);
console.log(
  `| minor release, ${composes.length} produce composes of ${worst} h each | ${m.hostCommands} | ${m.transitions} | ${m.historyEvents} |`,
);
