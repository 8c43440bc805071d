import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * A bad day with the real `releng` processes, on roots whose paths hold a space: a rejected
 * demo (with a second demo refused while it waits), a demo root that a new demo must not wipe
 * without --force, a rollback asked for and confirmed, and a second cycle after the demo.
 */
const REPO = resolve(import.meta.dirname, '../..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function start(argv: string[]): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [join(REPO, 'bin', 'releng.mjs'), ...argv], {
    cwd: REPO,
    env: { ...process.env, RELENG_CONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d));
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const done = new Promise<Run>((resolve) =>
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })),
  );
  return { child, done };
}

const releng = (...argv: string[]) => start(argv).done;
const lastJson = <T>(text: string) => JSON.parse(text.trim().split('\n').at(-1)!) as T;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'releng-bad-day-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('a demo whose promotion is rejected', () => {
  it('is REJECTED in the summary with who and why, names no production path, exits 3; a second demo meanwhile is refused', {
    timeout: 400_000,
  }, async () => {
    const root = join(dir, 'rejected demo', 'root');
    const demo = start(['demo', '--root', root]);
    // Wait for the approvals it asks for (the release and the demo's SIG, one promotion), as an
    // engineer in another terminal would.
    let approvalIds: string[] = [];
    for (let i = 0; i < 300 && approvalIds.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      if (!existsSync(join(root, 'engine'))) continue;
      const listed = await releng('approvals', '--root', root, '--json');
      approvalIds = lastJson<{ pending: Array<{ approvalId: string }> }>(listed.stdout)
        .pending.map((p) => p.approvalId)
        .sort();
    }
    expect(approvalIds).toHaveLength(2);

    const second = await releng('demo', '--root', root, '--yes');
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`another releng demo (pid ${demo.child.pid}) is running on ${root}`);

    for (const approvalId of approvalIds) {
      const reject = await releng('reject', approvalId, '--root', root, '--reason', 'kernel regression');
      expect(reject.code, reject.stderr).toBe(0);
    }
    const result = await demo.done;
    expect(result.code, result.stderr).toBe(3);
    expect(result.stdout).toMatch(/^ {2}REJECTED +promotion +promote-/m);
    expect(result.stdout).toMatch(/REJECTED promote-\S+-0 by \S+: kernel regression/);
    expect(result.stdout).toContain('production   (nothing published)');
    expect(result.stdout).not.toContain('mnt/repos-production');
    expect(result.stdout).not.toMatch(/SUCCEEDED +promotion/);

    const status = await releng('status', '--root', root);
    expect(status.stdout).toMatch(/^REJECTED +promotion/m);
    expect(existsSync(join(root, '.releng-demo.lock'))).toBe(false);
  });
});

describe('a demo root on a bad day', () => {
  const root = () => join(dir, 'release work', 'root');
  let production: string;
  beforeAll(async () => {
    const demo = await releng('demo', '--root', root(), '--yes', '--json');
    expect(demo.code, demo.stderr).toBe(0);
    production = lastJson<{ productionDir: string }>(demo.stdout).productionDir;
    expect(existsSync(production)).toBe(true);
  }, 400_000);

  it('a new demo refuses without --force and says what it would delete; a stale demo lock is ignored', async () => {
    // The lock of a demo whose process is gone does not block: the refusal is about the pipeline.
    await writeFile(join(root(), '.releng-demo.lock'), '999999999\n');
    const again = await releng('demo', '--root', root(), '--yes');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`${root()} already holds a pipeline; a new demo would delete`);
    expect(again.stderr).toMatch(/[0-9]+ executions \(compose-8-/);
    expect(again.stderr).toContain(`the production tree ${production}`);
    expect(again.stderr).toContain('--force');
    expect(existsSync(join(production, 'BaseOS', 'x86_64', 'os', 'repodata', 'repomd.xml'))).toBe(true);
  });

  it('rollback shows its plan, warns about a first publish, asks, then says already rolled back', {
    timeout: 120_000,
  }, async () => {
    const asked = await releng('rollback', '--major', '8', '--root', root());
    expect(asked.code).toBe(2);
    expect(asked.stdout).toMatch(/rollback plan for 8\.[0-9]+: undo the publish of digest [0-9a-f]{64}/);
    expect(asked.stdout).toMatch(/warning: that was the first publish of 8\.[0-9]+: rolling back removes/);
    expect(asked.stderr).toContain('rerun with --yes to confirm');
    expect(existsSync(join(production, 'BaseOS', 'x86_64', 'os', 'repodata', 'repomd.xml'))).toBe(true);

    const done = await releng('rollback', '--major', '8', '--root', root(), '--yes');
    expect(done.code, done.stderr).toBe(0);
    expect(existsSync(join(production, 'BaseOS', 'x86_64', 'os', 'repodata', 'repomd.xml'))).toBe(false);

    const again = await releng('rollback', '--major', '8', '--root', root(), '--yes');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/rollback: 8\.[0-9]+ already rolled back at \S+ .*nothing to undo/);
  });

  it('a second cycle after the demo finds its errata and publishes again', { timeout: 400_000 }, async () => {
    const before = (await readdir(join(root(), 'engine', 'executions'))).length;
    const cycle = await releng('compose', '--major', '8', '--compose', 'Rocky', '--yes', '--root', root());
    expect(cycle.stderr).not.toContain('fetch failed');
    expect(cycle.code, cycle.stderr).toBe(0);
    expect((await readdir(join(root(), 'engine', 'executions'))).length).toBeGreaterThan(before);
    expect(existsSync(join(production, 'BaseOS', 'x86_64', 'os', 'repodata', 'repomd.xml.asc'))).toBe(true);
  });

  it('promote exits 3 and says TIMED_OUT, by whom and why, when nobody decides', {
    timeout: 200_000,
  }, async () => {
    const config = JSON.parse(await readFile(join(root(), 'releng.config.json'), 'utf8')) as object;
    const shortApproval = join(dir, 'short-approval.json');
    // 0.0005 h = 1.8 s, rounded up to whole seconds by the stack.
    await writeFile(shortApproval, JSON.stringify({ ...config, approval: { timeoutHours: 0.0005 } }));
    const run = await releng('promote', '--major', '8', '--root', root(), '--config', shortApproval);
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toMatch(/releng promote: promote-8-\S+ TIMED_OUT: production untouched/);
    expect(run.stderr).toMatch(/TIMED_OUT promote-8-\S+-0 by releng: no decision within 2 seconds/);
  });
});
