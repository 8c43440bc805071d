import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { LocalAgent } from '../../cli/agent/index.ts';
import { LocalHostCommands } from '../../cli/engine/adapters/host-commands.ts';
import { runAsTask } from '../../cli/engine/adapters/task-scope.ts';
import { ExecutionStore } from '../../cli/engine/execution-store.ts';
import { LocalEvents } from '../../cli/engine/local-events.ts';

/**
 * The `[Success after S s]` line a host step's log ends with is what bench/demo.ts sums as the
 * host operations' time. A command that prints only when it ends (doctor writes its report
 * last) must still count from the moment it was sent, not from its first output.
 */
const QUIET_THEN_REPORT = {
  schemaVersion: '2.2',
  mainSteps: [
    {
      action: 'aws:runShellScript',
      name: 'releng',
      inputs: { runCommand: ['sleep 0.6', `echo '{"operation":"doctor","ok":true}'`] },
    },
  ],
};

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'releng-cmdtime-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

it('counts a quiet host command from its send, in the log of the task that sent it', async () => {
  const store = new ExecutionStore(join(root, 'engine'));
  const events = new LocalEvents({
    engineDir: join(root, 'engine'),
    functions: () => ({}),
    queueConsumers: {},
    store,
    notifier: { publish: async () => {} },
  });
  let finished!: () => void;
  const ended = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const commands = new LocalHostCommands({
    agent: new LocalAgent({ hostRoot: root, s3Dir: join(root, 's3') }),
    documents: { DoctorDoc: QUIET_THEN_REPORT },
    onSent: (id) => events.commandSent(id),
    onOutput: (id, stream, text) => events.commandOutput(id, stream, text),
    onEnded: (id, instance, status) => {
      events.commandEnded(id, instance, status);
      finished();
    },
  });
  const task = {
    execution: 'exec-1',
    stateMachine: 'compose' as const,
    state: 'Check compose host: run',
    resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken' as never,
    timeoutSeconds: 60,
    signal: new AbortController().signal,
  };
  await runAsTask(task, () =>
    commands.send({ documentName: 'DoctorDoc', instanceId: 'i-local', parameters: {} }),
  );
  await ended;
  await new Promise((resolve) => setTimeout(resolve, 100)); // the log append is fire-and-forget
  const log = await readFile(
    join(root, 'engine', 'executions', 'exec-1', 'logs', 'Check_compose_host__run.log'),
    'utf8',
  );
  expect(log).toContain('"operation":"doctor"');
  const seconds = Number(/\[Success after ([0-9.]+) s\]/.exec(log)?.[1]);
  expect(seconds).toBeGreaterThanOrEqual(0.5);
});
