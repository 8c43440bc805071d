import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalAgent } from '../../cli/agent/index.ts';
import { LocalHostCommands } from '../../cli/engine/adapters/host-commands.ts';
import { LocalDocumentClient } from '../../cli/engine/local-document-client.ts';
import { LocalTable } from '../../cli/engine/local-table.ts';
import { LocalTaskTokens } from '../../cli/engine/task-tokens.ts';
import { DynamoLockStore } from '../../functions/adapters/dynamodb.ts';
import { DynamoHostCommandStore } from '../../functions/adapters/host-command-store.ts';
import { createHostCommandEventsHandler } from '../../functions/host-command-events/process.ts';
import {
  cleanUpExecution,
  completeHostCommand,
  type HostCommandDeps,
  sendHostCommand,
  sweepHostCommands,
} from '../../shared/host-commands/lifecycle.ts';
import type { Clock } from '../../shared/ports.ts';

/**
 * The host-command lifecycle on the local twin's real parts: the local SSM agent runs a
 * document's own shell text, the store is functions/' DynamoDB adapter over the local table, and
 * the task tokens are the engine's. The document stands in for `releng-host doctor`: major 8
 * succeeds at once, 6 a second after it is sent, 9 fails with releng-host's error line after a
 * second, 7 runs until stopped.
 */
const DOCUMENT = {
  schemaVersion: '2.2',
  parameters: { major: { type: 'String', allowedPattern: '^[0-9]{1,3}$' } },
  mainSteps: [
    {
      action: 'aws:runShellScript',
      name: 'releng',
      inputs: {
        runCommand: [
          "m='{{ major }}'",
          'echo "[doctor] checking $m" >&2',
          'case "$m" in',
          '  8) echo \'{"operation":"doctor","ok":true,"tools":3}\' ;;',
          '  6) sleep 1; echo \'{"operation":"doctor","ok":true,"tools":3}\' ;;',
          '  9) sleep 1; echo \'{"operation":"doctor","ok":false,"error":"mktorrent is missing (not on PATH)"}\'; exit 1 ;;',
          '  7) echo $$ > "$RELENG_HOST_ROOT/pid"; sleep 60 ;;',
          'esac',
        ],
      },
    },
  ],
};

let root: string;
let now: Date;
let ended: string[];
let deps: HostCommandDeps;
let tokens: LocalTaskTokens;
let table: LocalTable;
const clock: Clock = { now: () => now };

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'releng-hostcmd-'));
  now = new Date('2026-12-03T10:00:00Z');
  ended = [];
  const agent = new LocalAgent({ hostRoot: root, s3Dir: join(root, 's3') });
  const commands = new LocalHostCommands({
    agent,
    documents: { DoctorDoc: DOCUMENT },
    onEnded: (commandId) => ended.push(commandId),
  });
  table = new LocalTable(join(root, 'table.json'), ['pk', 'sk']);
  tokens = new LocalTaskTokens(join(root, 'engine'), 10);
  deps = {
    commands,
    store: new DynamoHostCommandStore(new LocalDocumentClient(table), 'local', clock),
    callbacks: tokens,
    clock,
  };
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function task(major: string, execution = 'arn:aws:states:local:0:execution:staging:run-1') {
  return {
    version: 1,
    taskToken: await tokens.mint('run-1', 'Check compose host: run'),
    operation: 'doctor',
    documentName: 'arn:aws:ssm:local:0:document/DoctorDoc',
    instanceId: 'i-0123456789abcdef0',
    parameters: { major: [major] },
    execution,
    state: 'Check compose host: run',
    timeoutSeconds: 600,
  };
}

async function endedOf(commandId: string): Promise<void> {
  for (let i = 0; i < 500 && !ended.includes(commandId); i++) await new Promise((r) => setTimeout(r, 10));
  expect(ended).toContain(commandId);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('host commands, event-driven', () => {
  it("answers the task token with releng-host's JSON result once the command ends", async () => {
    const input = await task('6');
    const { commandId } = await sendHostCommand(deps, input);
    expect(await completeHostCommand(deps, commandId)).toMatch(/running|succeeded/);
    await endedOf(commandId);
    const completion = await completeHostCommand(deps, commandId);
    const output = await tokens.wait(input.taskToken);
    expect(output).toEqual({
      commandId,
      status: 'Success',
      output: { operation: 'doctor', ok: true, tools: 3 },
    });
    expect(completion === 'succeeded' || completion === 'already-finished').toBe(true);
    expect(await deps.store.get(commandId)).toMatchObject({
      status: 'SUCCEEDED',
      execution: input.execution,
    });
    // A second event for the same command (EventBridge may deliver twice) changes nothing.
    expect(await completeHostCommand(deps, commandId)).toBe('already-finished');
  });

  it("fails the task with the host operation's own failure line", async () => {
    const input = await task('9');
    const { commandId } = await sendHostCommand(deps, input);
    await endedOf(commandId);
    expect(await completeHostCommand(deps, commandId)).toBe('failed');
    await expect(tokens.wait(input.taskToken)).rejects.toMatchObject({
      name: 'HostCommandFailed',
      message: 'releng-host doctor: Failed (exit 1): mktorrent is missing (not on PATH)',
    });
    expect(await deps.store.get(commandId)).toMatchObject({ status: 'FAILED' });
  });

  it('answers at once a command that ended before its record was written (its event found it not ours)', async () => {
    const handler = createHostCommandEventsHandler(deps, { info: () => {}, warn: () => {}, error: () => {} });
    const input = await task('8');
    const events: unknown[] = [];
    // A slow store write: the command ends, and its status event is handled, before the record exists.
    const put = deps.store.put.bind(deps.store);
    deps.store.put = async (record) => {
      await endedOf(record.commandId);
      events.push(
        await handler({
          version: '0',
          source: 'aws.ssm',
          'detail-type': 'EC2 Command Invocation Status-change Notification',
          detail: { 'command-id': record.commandId, 'instance-id': input.instanceId, status: 'Success' },
        }),
      );
      await put(record);
    };
    const { commandId } = await sendHostCommand(deps, input);
    expect(events).toEqual([{ completion: 'not-ours' }]);
    // Answered by the send itself: no later event, no sweep.
    await expect(tokens.wait(input.taskToken)).resolves.toMatchObject({ commandId, status: 'Success' });
    expect(await deps.store.get(commandId)).toMatchObject({ status: 'SUCCEEDED' });
    expect(await sweepHostCommands(deps)).toEqual({ completed: [], heartbeats: [], cancelled: [] });
  });

  it('reports the command sent when the look after sending fails; the sweep answers it', async () => {
    const input = await task('8');
    const get = deps.commands.get.bind(deps.commands);
    let looks = 0;
    deps.commands.get = async (commandId, instanceId) => {
      if (looks++ === 0) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      return get(commandId, instanceId);
    };
    const { commandId } = await sendHostCommand(deps, input);
    expect(await deps.store.get(commandId)).toMatchObject({ status: 'RUNNING' });
    await endedOf(commandId);
    expect(await sweepHostCommands(deps)).toEqual({ completed: [commandId], heartbeats: [], cancelled: [] });
    await expect(tokens.wait(input.taskToken)).resolves.toMatchObject({ commandId, status: 'Success' });
  });

  it('refuses a bad value before sending anything, naming it', async () => {
    const input = { ...(await task('8')), parameters: { major: ["8'; reboot"] } };
    await expect(sendHostCommand(deps, input)).rejects.toMatchObject({
      name: 'HostCommandRejected',
      message: expect.stringContaining(`--major "8'; reboot" is not a valid major`),
    });
    await expect(sendHostCommand(deps, { ...input, parameters: { root: ['/'] } })).rejects.toThrow(
      /unknown parameter "root"/,
    );
    expect(await deps.store.listRunning()).toEqual([]);
  });

  it("never sends one task's command twice when the invoke is retried", async () => {
    const input = await task('8');
    const first = await sendHostCommand(deps, input);
    await expect(sendHostCommand(deps, input)).rejects.toThrow(/already sent its doctor command/);
    await endedOf(first.commandId);
    expect(ended).toEqual([first.commandId]);
  });

  it('completes a command whose status event was lost, on the next sweep', async () => {
    const input = await task('6');
    const { commandId } = await sendHostCommand(deps, input);
    await endedOf(commandId);
    // No event handled: the sweep finds it ended and answers the token.
    expect(await sweepHostCommands(deps)).toEqual({ completed: [commandId], heartbeats: [], cancelled: [] });
    await expect(tokens.wait(input.taskToken)).resolves.toMatchObject({ status: 'Success' });
  });

  it("keeps a running command's heartbeat, and cancels it past its deadline", async () => {
    const input = await task('7');
    const { commandId } = await sendHostCommand(deps, input);
    const pid = Number(await waitForFile(join(root, 'pid')));
    expect(await sweepHostCommands(deps)).toEqual({ completed: [], heartbeats: [commandId], cancelled: [] });
    now = new Date(now.getTime() + (600 + 3600 + 1) * 1000);
    expect(await sweepHostCommands(deps)).toEqual({ completed: [], heartbeats: [], cancelled: [commandId] });
    expect(alive(pid)).toBe(false);
    await expect(tokens.wait(input.taskToken)).rejects.toMatchObject({ name: 'HostCommandTimedOut' });
  });

  it('stops a command nobody waits for any more (its task token is gone)', async () => {
    const input = await task('7');
    const { commandId } = await sendHostCommand(deps, input);
    const pid = Number(await waitForFile(join(root, 'pid')));
    await tokens.fail(input.taskToken, 'States.Timeout', 'the execution timed out');
    expect((await sweepHostCommands(deps)).cancelled).toEqual([commandId]);
    expect(alive(pid)).toBe(false);
    expect(await deps.store.get(commandId)).toMatchObject({ status: 'CANCELLED' });
  });

  it('cleans up an aborted execution: its command killed, its locks released, others kept', async () => {
    const execution = 'arn:aws:states:local:0:execution:compose:aborted-1';
    const locks = new DynamoLockStore(new LocalDocumentClient(table), 'local', clock);
    await locks.acquire('lane:8/Rocky', execution, 3600);
    await locks.acquire('lane:9/Rocky', 'arn:aws:states:local:0:execution:compose:other', 3600);
    const { commandId } = await sendHostCommand(deps, await task('7', execution));
    const pid = Number(await waitForFile(join(root, 'pid')));

    const report = await cleanUpExecution({ ...deps, locks }, execution, 'aborted');
    expect(report).toEqual({ cancelledCommands: [commandId], releasedLocks: ['lane:8/Rocky'] });
    expect(alive(pid)).toBe(false);
    expect((await locks.list()).map((l) => l.name)).toEqual(['lane:9/Rocky']);
    expect(await deps.store.get(commandId)).toMatchObject({
      status: 'CANCELLED',
      outcome: 'execution aborted',
    });
  });

  it('routes SSM status events and schedule ticks, and refuses anything else', async () => {
    const log = { info: () => {}, warn: () => {}, error: () => {} };
    const handler = createHostCommandEventsHandler(deps, log);
    const input = await task('6');
    const { commandId } = await sendHostCommand(deps, input);
    await endedOf(commandId);
    await expect(
      handler({
        version: '0',
        source: 'aws.ssm',
        'detail-type': 'EC2 Command Invocation Status-change Notification',
        detail: { 'command-id': commandId, 'instance-id': input.instanceId, status: 'Success' },
      }),
    ).resolves.toEqual({ completion: 'succeeded' });
    await expect(handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' })).resolves.toEqual({
      completed: [],
      heartbeats: [],
      cancelled: [],
    });
    await expect(handler({ source: 'aws.s3', 'detail-type': 'Object Created' })).rejects.toThrow(
      /not an SSM status change or a schedule tick/,
    );
  });
});

async function waitForFile(path: string): Promise<string> {
  for (let i = 0; i < 500; i++) {
    const text = await readFile(path, 'utf8').catch(() => '');
    if (text.trim()) return text.trim();
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${path} never appeared`);
}
