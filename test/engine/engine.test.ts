import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { engineTableOf } from '../../cli/engine/adapters/dynamodb.ts';
import type { EngineDefinitions } from '../../cli/engine/definitions.ts';
import { LocalEngine } from '../../cli/engine/engine.ts';
import { ExecutionStore } from '../../cli/engine/execution-store.ts';
import { localHostCommandFunctions } from '../../cli/engine/local-functions.ts';
import { engineStateTable } from '../../cli/engine/local-table.ts';
import { LocalTaskTokens } from '../../cli/engine/task-tokens.ts';
import { createLocalAdapters } from '../../cli/local/index.ts';
import { systemClock } from '../../shared/ports.ts';
import { installDevHost } from '../support/host-root.ts';
import { fixtureDefinitions } from './fixture-stack.ts';

let definitions: EngineDefinitions;
let root: string;
let approvals: Array<{ taskToken: string; digest: string }>;
let received: Array<{ body: string; sender: string }>;

beforeAll(() => {
  definitions = fixtureDefinitions();
});

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'releng-engine-'));
  await installDevHost(root);
  approvals = [];
  received = [];
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function engine(): LocalEngine {
  return new LocalEngine({
    root,
    definitions,
    waitMs: 20,
    retryMsPerSecond: 10,
    functions: (e) => ({
      ...localHostCommandFunctions(
        e,
        createLocalAdapters(root, systemClock, engineTableOf(e.engineDir, definitions.index)),
      ),
      'approval-request': async (event) => {
        approvals.push(event as { taskToken: string; digest: string });
        return {};
      },
      'promotion-events': async (event) => {
        const record = (event as { Records: Array<{ body: string; attributes: { SenderId: string } }> })
          .Records[0]!;
        received.push({ body: record.body, sender: record.attributes.SenderId });
        return { batchItemFailures: [] };
      },
    }),
  });
}

async function tableItems(): Promise<Array<Record<string, string>>> {
  const file = engineStateTable(join(root, 'engine')).file;
  const items = JSON.parse(await readFile(file, 'utf8')) as Record<string, Record<string, { S?: string }>>;
  return Object.values(items).map((item) =>
    Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v.S ?? JSON.stringify(v)])),
  );
}

async function until<T>(probe: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('LocalEngine on a synthesized CDK stack', () => {
  it('runs a host operation through the host-command Lambda and the SSM document, under a released lane lock', async () => {
    await mkdir(join(root, 'mnt/repos-production/mirror/pub/rocky/8.10/BaseOS'), { recursive: true });
    await writeFile(join(root, 'mnt/repos-production/mirror/pub/rocky/8.10/BaseOS/x.rpm'), 'x');
    const local = engine();
    const record = await local.run('compose', 'lists-1', { lane: 'lane:8/Rocky', operation: 'file-lists' });

    expect(record.status).toBe('SUCCEEDED');
    // The real releng-host wrote the file lists under the engine root.
    const list = await readFile(
      join(root, 'mnt/repos-production/mirror/pub/rocky/fullfiletimelist-rocky'),
      'utf8',
    );
    expect(list).toContain('8.10/BaseOS/x.rpm');
    // The lock is released, the command recorded as done, and the notification logged.
    const table = await tableItems();
    expect(table.filter((item) => item.pk === 'lane:8/Rocky')).toEqual([]);
    expect(table.filter((item) => item.pk?.startsWith('HOSTCMD#')).map((item) => item.status)).toEqual([
      'SUCCEEDED',
    ]);
    expect(await readFile(join(root, 'engine/notifications.log'), 'utf8')).toContain('compose done');
    // Another process sees the same execution, its events and the host's log.
    const store = new ExecutionStore(join(root, 'engine'));
    const events = await store.events('lists-1');
    expect(events.map((e) => e.state)).toContain('Write file lists: run');
    expect(events.at(-1)?.type).toBe('ExecutionSucceeded');
    // One task, no polling: the command's completion answered its token.
    expect(events.filter((e) => e.type === 'StateEntered').length).toBeLessThanOrEqual(8);
    const logs = (await store.logs('lists-1', 'Write file lists: run')).map((l) => l.text).join('');
    expect(logs).toContain('[file-lists]');
    expect(logs).toContain('[Success after');
    expect(record.output).toMatchObject({
      command: { status: 'Success', output: { operation: 'file-lists', ok: true } },
    });
  });

  it('fails at the failing host step, releases the lock and records where and why', async () => {
    const local = engine();
    const record = await local.run('compose', 'broken-1', { lane: 'lane:8/Rocky', operation: 'rollback' });

    expect(record.status).toBe('FAILED');
    expect(record.error).toBe('HostCommandFailed');
    expect(record.failedState).toBe('Roll back: run');
    // The host operation's own failure line, not a log-group name.
    expect(record.cause).toMatch(
      /^releng-host rollback: Failed \(exit 1\): .*no publish|^releng-host rollback: Failed \(exit 1\): \S/,
    );
    expect((await tableItems()).filter((item) => item.pk === 'lane:8/Rocky')).toEqual([]);
    const logs = await local.store.logs('broken-1');
    expect(logs.map((l) => l.text).join('')).toContain('[Failed after');
  });

  it('never lets two executions of one lane hold the lock together', async () => {
    const local = engine();
    await local.start('compose', 'lane-a', { lane: 'lane:8/Rocky', operation: 'file-lists' });
    await local.start('compose', 'lane-b', { lane: 'lane:8/Rocky', operation: 'file-lists' });
    await local.idle();
    const spans = [];
    for (const name of ['lane-a', 'lane-b']) {
      expect((await local.store.get(name)).status).toBe('SUCCEEDED');
      const events = await local.store.events(name);
      const taken = events.find((e) => e.type === 'StateExited' && e.state === 'Take lane lock')!;
      const released = events.find(
        (e) => e.type === 'StateExited' && e.state?.startsWith('Release lane lock'),
      )!;
      spans.push([Date.parse(taken.timestamp), Date.parse(released.timestamp)] as const);
    }
    const [a, b] = spans as [readonly [number, number], readonly [number, number]];
    expect(a[1] <= b[0] || b[1] <= a[0]).toBe(true);
    // The second one waited on the lock: its put was retried.
    const retried = [...(await local.store.events('lane-a')), ...(await local.store.events('lane-b'))].filter(
      (e) => e.type === 'StateRetried',
    );
    expect(retried.length).toBeGreaterThan(0);
  });

  it('waits for the approval token, then announces on the queue and starts a compose', async () => {
    const local = engine();
    await local.start('promotion', 'promo-1', { digest: 'abc' });
    const request = await until(() => approvals[0], 'the approval request');
    expect(request.taskToken).toMatch(/^local-/);
    expect(request.digest).toBe('abc');
    // Another process's `releng status` sees where it waits (the record is written as events arrive).
    let current: string[] = [];
    for (let i = 0; i < 100 && current.length === 0; i++) {
      current = (await new ExecutionStore(join(root, 'engine')).get('promo-1')).currentStates;
      if (current.length === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(current).toEqual(['Request approval']);

    // The decision comes from another process: a separate token store on the same root.
    await new LocalTaskTokens(join(root, 'engine')).succeed(request.taskToken, { outcome: 'APPROVED' });
    const record = await local.wait('promo-1');
    await local.idle();

    expect(record.status).toBe('SUCCEEDED');
    expect(record.output).toMatchObject({
      approval: { outcome: 'APPROVED' },
      followUp: { status: 'SUCCEEDED' },
    });
    expect(received).toEqual([
      { body: JSON.stringify({ type: 'published', digest: 'abc' }), sender: 'local:state-machine/promotion' },
    ]);
    expect((await local.store.get('promo-1-compose')).status).toBe('SUCCEEDED');
  });

  it('routes a rejection through the Catch and publishes nothing', async () => {
    const local = engine();
    await local.start('promotion', 'promo-2', { digest: 'abc' });
    const request = await until(() => approvals[0], 'the approval request');
    await local.tokens.fail(request.taskToken, 'ApprovalRejected', 'not today');
    const record = await local.wait('promo-2');

    expect(record).toMatchObject({ status: 'FAILED', error: 'ApprovalRejected', cause: 'not today' });
    expect(received).toEqual([]);
    await expect(local.tokens.succeed(request.taskToken, {})).rejects.toThrow(/already used/);
  });

  it('refuses a second execution of the same name and reruns with the same input', async () => {
    const local = engine();
    await local.run('compose', 'again', { lane: 'lane:8/Rocky', operation: 'rollback' });
    expect(await local.start('compose', 'again', {})).toEqual({ executionId: 'again', started: false });
    const rerun = await local.rerun('again');
    expect(rerun).toBe('again-rerun-1');
    const record = await local.wait(rerun);
    expect(record.input).toEqual({ lane: 'lane:8/Rocky', operation: 'rollback' });
    expect(record.rerunOf).toBe('again');
  });

  it('reports a running execution whose engine process is gone as aborted', async () => {
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const deadPid = Number(child.stdout);
    const store = new ExecutionStore(join(root, 'engine'));
    await store.create({
      name: 'orphan',
      stateMachine: 'compose',
      status: 'RUNNING',
      input: {},
      startDate: new Date().toISOString(),
      currentStates: ['Compose: poll'],
      pid: deadPid,
    });
    expect(await store.get('orphan')).toMatchObject({
      status: 'ABORTED',
      error: 'EngineGone',
      cause: `engine process ${deadPid} ended`,
    });
  });
});
