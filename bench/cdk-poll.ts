/**
 * State transitions a host command costs while Step Functions waits for it. Standard workflows
 * bill per transition, so the RunOnComposeHost poll loop doubles its wait (15 s up to 10 min).
 * Baseline, in the same process: the same synthesized loop with the wait held at a fixed 30 s.
 * Both run the real ASL on aws-local-stepfunctions. A fake host stays InProgress until the
 * simulated time (the sum of the waits) reaches the command's duration; the waits take 0 ms.
 * Run: `npx tsx bench/cdk-poll.ts [--hours H ...]`.
 */
import '../cli/engine/polyfill.ts';
import { Template } from 'aws-cdk-lib/assertions';
import { StateMachine } from 'aws-local-stepfunctions';
import { aslFromTemplate } from '../cdk/asl.ts';
import { buildRelengApp } from '../cdk/build.ts';
import { type AslDefinition, allStates } from '../cli/engine/asl.ts';
import { buildConfig } from '../shared/config/load.ts';

const args = process.argv.slice(2);
const hoursArgs = args.flatMap((a, i) => (args[i - 1] === '--hours' ? [Number(a)] : []));
const durations = hoursArgs.length ? hoursArgs : [10 / 60, 2, 12, 48];
const FIXED_WAIT = 30;
/** One item of the compose Map, as the state machine builds it. */
const COMPOSE_ITEM = {
  major: '8',
  channel: 'stable',
  revision: '',
  compose: { name: 'Rocky', kind: 'updates', resumeComposeId: '' },
};

/** The compose step (its deadline allows 48 h), as a state machine of its own. */
function hostCommandMachine(): AslDefinition {
  const { stack } = buildRelengApp({ config: buildConfig({}), bundling: false, nag: false });
  const pipeline = aslFromTemplate(
    Template.fromStack(stack).toJSON(),
    'ComposePipeline',
  ) as unknown as AslDefinition;
  const found = allStates(pipeline).find((s) => s.name === 'Compose');
  if (!found?.state.Branches?.[0]) throw new Error('no Compose state');
  return found.state.Branches[0];
}

/** The same loop with the wait fixed at FIXED_WAIT seconds: the baseline. */
function fixedInterval(machine: AslDefinition): AslDefinition {
  const copy = structuredClone(machine);
  for (const [name, state] of Object.entries(copy.States)) {
    const params = state.Parameters as Record<string, unknown> | undefined;
    if (name.endsWith(': start backoff') && params) params.waitSeconds = FIXED_WAIT;
    if ((name.endsWith(': back off') || name.endsWith(': keep interval')) && params) {
      delete params.waitSeconds;
      params['waitSeconds.$'] = '$.hostCommand.poll.waitSeconds';
    }
  }
  return copy;
}

async function transitions(
  machine: AslDefinition,
  seconds: number,
): Promise<{ transitions: number; polls: number }> {
  let simulated = 0;
  let polls = 0;
  // The event log is read asynchronously; the n-th poll waits until the n-th wait is counted.
  let waitsSeen = 0;
  let caughtUp: (() => void) | undefined;
  const waitsCounted = (n: number) =>
    waitsSeen >= n ? Promise.resolve() : new Promise<void>((resolve) => (caughtUp = resolve));
  const handlers: Record<string, (input: unknown) => unknown> = {};
  const waits: Record<string, number> = {};
  for (const { name, state } of allStates(machine)) {
    if (state.Type === 'Wait') waits[name] = 0;
    if (state.Resource?.endsWith('sendCommand')) handlers[name] = () => ({ Command: { CommandId: 'c1' } });
    if (state.Resource?.endsWith('getCommandInvocation')) {
      handlers[name] = async () => {
        polls += 1;
        await waitsCounted(polls);
        const done = simulated >= seconds;
        return {
          Status: done ? 'Success' : 'InProgress',
          StatusDetails: '',
          ResponseCode: done ? 0 : -1,
          StandardOutputContent: '{}',
        };
      };
    }
  }
  const run = new StateMachine(machine as never, { validationOptions: { checkArn: false } }).run(
    COMPOSE_ITEM,
    {
      overrides: { taskResourceLocalHandlers: handlers as never, waitTimeOverrides: waits },
      context: { Execution: { Id: 'bench', Name: 'bench' } } as never,
    },
  );
  let count = 0;
  for await (const event of run.eventLogs) {
    if (event.type === 'StateEntered') {
      count += 1;
      const input = event.state.input as { hostCommand?: { poll?: { waitSeconds?: number } } };
      if (event.state.name.endsWith(': wait')) {
        simulated += input.hostCommand?.poll?.waitSeconds ?? 0;
        waitsSeen += 1;
        caughtUp?.();
      }
    }
  }
  await run.result;
  return { transitions: count, polls };
}

const backoff = hostCommandMachine();
const fixed = fixedInterval(backoff);
console.log('| command runs | backoff: transitions (polls) | fixed 30 s: transitions (polls) | ratio |');
console.log('|---|---|---|---|');
for (const hours of durations) {
  const a = await transitions(backoff, hours * 3600);
  const b = await transitions(fixed, hours * 3600);
  const label = hours < 1 ? `${Math.round(hours * 60)} min` : `${hours} h`;
  console.log(
    `| ${label} | ${a.transitions} (${a.polls}) | ${b.transitions} (${b.polls}) | ${(a.transitions / b.transitions).toFixed(3)}x |`,
  );
}
