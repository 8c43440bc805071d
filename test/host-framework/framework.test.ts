import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createContext } from '../../host/framework/context.ts';
import { CommandError, execFile } from '../../host/framework/exec.ts';
import { writeFileAtomic } from '../../host/framework/fsutil.ts';
import { FileLocks, LockHeldError } from '../../host/framework/locks.ts';
import { parseOperationArgs } from '../../host/framework/options.ts';
import { buildConfig } from '../../shared/config/load.ts';
import { hostArgv, ParamError } from '../../shared/operations.ts';

const fixedClock = (iso: string) => ({ now: () => new Date(iso) });

describe('operation arguments come only through the catalogue', () => {
  it('parses flags and values, including --flag=value', () => {
    expect(
      parseOperationArgs('sync-to-staging', [
        '--root',
        '/srv',
        '--major',
        '8',
        '--compose=Rocky-devel',
        '--dry-run',
      ]),
    ).toEqual({
      root: '/srv',
      major: '8',
      compose: 'Rocky-devel',
      'dry-run': true,
      json: false,
    });
  });
  it('types each option from the catalogue: flags boolean, required values string, enums their values', () => {
    const options = parseOperationArgs('sync-to-prod', [
      '--root',
      '/',
      '--major',
      '8',
      '--approved-digest',
      'f'.repeat(64),
    ]);
    expectTypeOf(options['approved-digest']).toEqualTypeOf<string>();
    expectTypeOf(options['allow-shrink']).toEqualTypeOf<string | undefined>();
    expectTypeOf(options.channel).toEqualTypeOf<'stable' | 'beta' | 'lh' | undefined>();
    expectTypeOf(options['dry-run']).toEqualTypeOf<boolean>();
    expect(options).toMatchObject({ 'allow-shrink': undefined, 'dry-run': false, json: false });
  });
  it.each([
    [['--root', '/srv', '--major', '8'], /--compose is required/],
    [
      ['--root', '/srv', '--major', '8', '--compose', 'Rocky;rm -rf /'],
      /--compose "Rocky;rm -rf \/" is not a valid identifier/,
    ],
    [
      ['--root', 'relative', '--major', '8', '--compose', 'Rocky'],
      /--root "relative" is not a valid hostPath/,
    ],
    [['--root', '/srv/../etc', '--major', '8', '--compose', 'Rocky'], /--root "\/srv\/..\/etc"/],
    [
      ['--root', '/srv', '--major', '8', '--compose', 'Rocky', '--channel', 'nightly'],
      /--channel "nightly" is not one of stable, beta, lh/,
    ],
    [['--root', '/srv', '--major', '8', '--compose', 'Rocky', '--bogus', 'x'], /unknown option --bogus/],
    [['--root', '/srv', '--major', '8', '--compose'], /--compose needs a value/],
    [['--root', '/srv', '--major', '8', '--major', '9', '--compose', 'Rocky'], /--major given twice/],
    [['--root', '/srv', '--major', '8', '--compose', 'Rocky', '--json=yes'], /--json takes no value/],
    [['--root', '/srv', '--major', '8', '--compose', 'Rocky', 'extra'], /unexpected argument "extra"/],
    [['--root', '/srv', '--major', '8', '--compose', 'Rocky', '-x'], /unknown option -x/],
    [['--root', '/srv', '--major', '8', '--compose', 'Rocky', '--', '--json'], /unknown option --$/],
    [['--root', '/srv', '--major', '8', '--compose', '--dry-run'], /--compose needs a value/],
  ])('refuses %j naming the flag and value', (argv, expected) => {
    expect(() => parseOperationArgs('sync-to-staging', argv)).toThrow(expected);
  });
  it('builds releng-host argv from values, refusing what the host would refuse', () => {
    expect(
      hostArgv('sync-to-prod', {
        root: '/',
        major: '8',
        'approved-digest': 'f'.repeat(64),
        json: true,
        'dry-run': false,
      }),
    ).toEqual(['sync-to-prod', '--root', '/', '--major', '8', '--approved-digest', 'f'.repeat(64), '--json']);
    expect(() => hostArgv('sync-to-prod', { root: '/', major: '8', 'approved-digest': '$(id)' })).toThrow(
      ParamError,
    );
    expect(() => hostArgv('file-lists', { root: '/', major: '8' })).toThrow(/unknown parameter "major"/);
  });
});

describe('exec runs argv without a shell', () => {
  it('passes metacharacters through as plain arguments', async () => {
    const result = await execFile(['printf', '%s', '$(id); `id` | rm -rf /']);
    expect(result.stdout).toBe('$(id); `id` | rm -rf /');
  });
  it('a failing command is a CommandError with its exit code and stderr', async () => {
    const err = await execFile(['sh', '-c', 'echo broken >&2; exit 3']).catch((e) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err.result.code).toBe(3);
    expect(err.message).toMatch(/exited 3: broken/);
  });
});

describe('operation context', () => {
  const config = buildConfig();
  it('in dry-run plans steps and commands and changes nothing, not even a log file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'releng-ctx-'));
    const lines: string[] = [];
    const ctx = createContext({
      operation: 'file-lists',
      config,
      root,
      dryRun: true,
      options: parseOperationArgs('file-lists', ['--root', root, '--dry-run']),
      clock: fixedClock('2026-11-27T10:00:00Z'),
      progress: (l) => lines.push(l),
    });
    await ctx.step('write the list', async () => writeFileSync(join(root, 'list'), 'x'));
    await ctx.run(['touch', join(root, 'touched')]);
    expect(readdirSync(root)).toEqual([]);
    expect(ctx.plan).toEqual(['write the list', `$ touch ${join(root, 'touched')}`]);
    expect(lines[0]).toMatch(/would: write the list/);
    expect(ctx.logFile).toBeUndefined();
  });
  it('otherwise runs them and keeps a log of what ran', async () => {
    const root = mkdtempSync(join(tmpdir(), 'releng-ctx-'));
    const ctx = createContext({
      operation: 'file-lists',
      config,
      root,
      dryRun: false,
      options: parseOperationArgs('file-lists', ['--root', root]),
      clock: fixedClock('2026-11-27T10:00:00Z'),
      progress: () => {},
    });
    await ctx.run(['touch', join(root, 'touched')]);
    expect(readdirSync(root).sort()).toEqual(['touched', 'var']);
    expect(readFileSync(ctx.logFile!, 'utf8')).toMatch(/\$ touch .*touched/);
  });
});

describe('file locks', () => {
  it('one owner at a time; the holder is named; release frees it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'releng-locks-'));
    const locks = new FileLocks(dir, fixedClock('2026-11-27T10:00:00Z'));
    await locks.acquire('publish', 'run-1', 60);
    const err = await locks.acquire('publish', 'run-2', 60).catch((e) => e);
    expect(err).toBeInstanceOf(LockHeldError);
    expect(err.message).toMatch(/lock publish is held by run-1 .* until 2026-11-27T10:01:00.000Z/);
    await locks.release('publish', 'run-2'); // not the holder: no effect
    expect((await locks.read('publish'))?.owner).toBe('run-1');
    await locks.release('publish', 'run-1');
    await locks.acquire('publish', 'run-2', 60);
    expect((await locks.read('publish'))?.owner).toBe('run-2');
  });
  it("a dead run's lock is taken over at once with the next token; a clock running ahead takes no live lock", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'releng-locks-'));
    // A run on this host that dies holding the lock (its heartbeat dies with it).
    const locksModule = join(import.meta.dirname, '../../host/framework/locks.ts');
    const dies = `const { FileLocks } = await import(${JSON.stringify(locksModule)});
      await new FileLocks(${JSON.stringify(dir)}, { now: () => new Date() }).acquire('lane:8/Rocky', 'dead-run', 3600);
      process.kill(process.pid, 'SIGKILL');`;
    const dead = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', dies]);
    expect(dead.signal, dead.stderr.toString()).toBe('SIGKILL');
    const locks = new FileLocks(dir, fixedClock('2026-11-27T10:00:00Z'));
    expect(await locks.read('lane:8/Rocky')).toMatchObject({ owner: 'dead-run', token: 1 });
    const lease = await locks.acquire('lane:8/Rocky', 'next-run', 60);
    expect(lease.token).toBe(2);
    expect((await locks.read('lane:8/Rocky'))?.owner).toBe('next-run');
    // A day ahead, this taker's clock is far past next-run's expiresAt: the heartbeat decides, not it.
    const ahead = new FileLocks(dir, fixedClock('2026-11-28T10:00:00Z'));
    await expect(ahead.acquire('lane:8/Rocky', 'skewed-run', 60)).rejects.toThrow(/held by next-run/);
    await lease.release();
    expect((await ahead.acquire('lane:8/Rocky', 'skewed-run', 60)).token).toBe(3);
  });
  it('a waiting taker gets the lock when the holder lets go, and gives up at its deadline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'releng-locks-'));
    const locks = new FileLocks(dir, { now: () => new Date() });
    await locks.acquire('git:8', 'compose-Rocky', 60);
    await expect(locks.acquireWaiting('git:8', 'compose-Extras', 60, 150)).rejects.toThrow(LockHeldError);
    setTimeout(() => void locks.release('git:8', 'compose-Rocky'), 100);
    await locks.acquireWaiting('git:8', 'compose-Extras', 60, 5000);
    expect((await locks.read('git:8'))?.owner).toBe('compose-Extras');
  });
  it('a run that outlives its ttl stops heartbeating, learns it at once, and fails instead of succeeding', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'releng-locks-'));
    const locks = new FileLocks(dir, { now: () => new Date() }, { heartbeatMs: 50, staleAfterMs: 400 });
    const run = locks.with('publish', 'slow-run', 0.2, async (lease) => {
      await new Promise((r) => setTimeout(r, 500));
      expect(lease.signal.aborted).toBe(true);
      return 'published';
    });
    await expect(run).rejects.toThrow(
      /lock publish was lost: token 1 is no longer current \(held past its ttl of 0.2 s\)/,
    );
    expect(await locks.read('publish')).toBeUndefined();
  });
  it('refuses a ttl or heartbeat timing that cannot work, naming the values', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'releng-locks-'));
    expect(
      () => new FileLocks(dir, { now: () => new Date() }, { heartbeatMs: 500, staleAfterMs: 600 }),
    ).toThrow(/heartbeat 500 ms and stale after 600 ms/);
    await expect(new FileLocks(dir, { now: () => new Date() }).acquire('publish', 'run', 0)).rejects.toThrow(
      /lock publish: ttl 0 is not a positive number of seconds/,
    );
  });
  it('of many concurrent takers exactly one wins', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'releng-locks-'));
    const locks = new FileLocks(dir, fixedClock('2026-11-27T10:00:00Z'));
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => locks.acquire('publish', `run-${i}`, 60)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });
});

describe('atomic writes', () => {
  it('leaves no temp file behind and replaces content whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'releng-atomic-'));
    await writeFileAtomic(join(dir, 'fullfiletimelist-rocky'), 'old');
    await writeFileAtomic(join(dir, 'fullfiletimelist-rocky'), 'new');
    expect(readdirSync(dir)).toEqual(['fullfiletimelist-rocky']);
    expect(readFileSync(join(dir, 'fullfiletimelist-rocky'), 'utf8')).toBe('new');
  });
});
