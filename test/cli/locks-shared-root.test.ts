import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { executionArn } from '../../cli/engine/engine.ts';
import { ExecutionStore } from '../../cli/engine/execution-store.ts';
import { engineStateTable } from '../../cli/engine/local-table.ts';
import { createLocalAdapters } from '../../cli/local/index.ts';
import { systemClock } from '../../shared/ports.ts';

/**
 * On a root shared by a group (group-writable), a state write by one engineer leaves the state
 * table group-writable for the next, even under umask 022: each write replaces the file.
 * A real `releng unlock` process writes the table (the lock and its audit record).
 */
const RELENG = fileURLToPath(new URL('../../bin/releng.mjs', import.meta.url));
const roots: string[] = [];
afterAll(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

/** A root whose state table holds lane:8/Rocky for an execution whose engine process is gone. */
async function rootWithDeadLock(mode: number): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'releng-shared-'));
  roots.push(root);
  await chmod(root, mode);
  const gone = spawn('true');
  await new Promise((r) => gone.on('exit', r));
  const store = new ExecutionStore(join(root, 'engine'));
  await store.create({
    name: 'gone-1',
    stateMachine: 'compose',
    status: 'RUNNING',
    input: {},
    startDate: new Date().toISOString(),
    currentStates: [],
    pid: gone.pid!,
  });
  const table = engineStateTable(join(root, 'engine'));
  await createLocalAdapters(root, systemClock).locks.acquire(
    'lane:8/Rocky',
    executionArn('compose', 'gone-1'),
    3600,
  );
  await chmod(table.file, 0o664);
  return root;
}

function unlockAs022(root: string) {
  const before = process.umask(0o022);
  try {
    return spawnSync(
      process.execPath,
      [RELENG, 'unlock', 'lane:8/Rocky', '--reason', 'its engine was killed', '--root', root],
      { encoding: 'utf8', timeout: 120_000 },
    );
  } finally {
    process.umask(before);
  }
}

describe('a group-writable root', () => {
  it('keeps the state table group-writable after another engineer writes it', {
    timeout: 120_000,
  }, async () => {
    const root = await rootWithDeadLock(0o2775);
    const run = unlockAs022(root);
    expect(run.status, run.stderr).toBe(0);
    expect((await stat(engineStateTable(join(root, 'engine')).file)).mode & 0o777).toBe(0o664);
  });

  it('leaves a private root to the umask', { timeout: 120_000 }, async () => {
    const root = await rootWithDeadLock(0o755);
    const run = unlockAs022(root);
    expect(run.status, run.stderr).toBe(0);
    expect((await stat(engineStateTable(join(root, 'engine')).file)).mode & 0o777).toBe(0o644);
  });
});
