import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FileLocks } from '../../host/framework/locks.ts';
import { compiledScript } from '../support/compiled-script.ts';

/**
 * Stale-lock takeover with real processes (issue 13, item 8): six takers started together on
 * one lock, as six hosts' runs would be, some with clocks hours off. Each winner logs its token
 * and holding interval; intervals must never overlap and tokens must only grow.
 */

const TAKER_SOURCE = join(import.meta.dirname, 'lock-taker.ts');
/** The taker compiled once: the rounds start about 200 of them. */
let takerScript: string;
beforeAll(async () => {
  takerScript = await compiledScript(TAKER_SOURCE);
});
const HOUR = 3600_000;

interface Taker {
  child: ChildProcess;
  ready: Promise<void>;
  /** The first outcome line: held (with its token) or refused (with the message). */
  outcome: Promise<{ outcome: 'held' | 'refused' | 'failed'; token?: number; message?: string }>;
  /** The line after "stop": how the writer's fence check went. */
  released: Promise<{ fenced: string; lost?: string }>;
  exit: Promise<number | null>;
  send(line: string): void;
}

function taker(options: Record<string, unknown>): Taker {
  const child = spawn(process.execPath, [takerScript, JSON.stringify(options)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const waiters: ((line: Record<string, unknown>) => void)[] = [];
  const seen: Record<string, unknown>[] = [];
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (let at = out.indexOf('\n'); at >= 0; at = out.indexOf('\n')) {
      const line = JSON.parse(out.slice(0, at)) as Record<string, unknown>;
      out = out.slice(at + 1);
      const waiter = waiters.shift();
      if (waiter) waiter(line);
      else seen.push(line);
    }
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  // A refused taker exits at once: a late line to it is not an error.
  child.stdin!.on('error', () => {});
  const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
  const nextLine = () =>
    Promise.race([
      new Promise<Record<string, unknown>>((resolve) => {
        const line = seen.shift();
        if (line) resolve(line);
        else waiters.push(resolve);
      }),
      exit.then((code) => {
        throw new Error(`taker ${options.owner} exited ${code} early: ${err}`);
      }),
    ]);
  const ready = nextLine().then(() => undefined);
  const outcome = ready.then(nextLine) as Taker['outcome'];
  const released = outcome.then(nextLine) as Taker['released'];
  released.catch(() => {});
  return { child, ready, outcome, released, exit, send: (line) => child.stdin!.write(`${line}\n`) };
}

interface LogLine {
  owner: string;
  token: number;
  event: 'start' | 'end';
  at: number;
  fenced?: string;
}

/** Start and end of each holder, in order of start; asserts they never overlap and tokens grow. */
function holdings(log: string): { owner: string; token: number; start: number; end: number }[] {
  const lines = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as LogLine);
  const held = lines
    .filter((l) => l.event === 'start')
    .map((s) => ({
      owner: s.owner,
      token: s.token,
      start: s.at,
      end: lines.find((e) => e.event === 'end' && e.owner === s.owner)?.at ?? Number.POSITIVE_INFINITY,
    }))
    .sort((a, b) => a.start - b.start);
  return held;
}

function overlaps(held: ReturnType<typeof holdings>): string[] {
  const problems: string[] = [];
  for (let i = 1; i < held.length; i++) {
    const [before, after] = [held[i - 1]!, held[i]!];
    if (after.start < before.end) problems.push(`${after.owner} took it while ${before.owner} held it`);
    if (!(after.token > before.token))
      problems.push(`${after.owner} got token ${after.token} after ${before.owner}'s ${before.token}`);
  }
  return problems;
}

/** One holder that takes the lock and dies holding it: the stale lock every round starts from. */
async function deadHolder(dir: string, log: string, owner: string): Promise<void> {
  const dead = taker({ dir, name: 'publish', owner, log, skewMs: 0, ttlSeconds: 60, release: false });
  await dead.ready;
  dead.send('go');
  expect((await dead.outcome).outcome).toBe('held');
  dead.send('stop');
  await dead.exit;
}

describe('stale-lock takeover with six real processes', () => {
  it("30 rounds from a dead holder's lock: exactly one of six takers wins each time, clocks hours off or not", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'releng-lock-races-'));
    const log = join(dir, 'holdings.log');
    writeFileSync(log, '');
    await deadHolder(dir, log, 'round-0');
    const manyHolders: string[] = [];
    const failures: string[] = [];
    for (let round = 1; round <= 30; round++) {
      // One taker's clock runs 5 hours ahead, another's 5 hours behind.
      const skew = (i: number) => (i === round % 6 ? 5 * HOUR : i === (round + 3) % 6 ? -5 * HOUR : 0);
      const takers = Array.from({ length: 6 }, (_, i) =>
        taker({
          dir,
          name: 'publish',
          owner: `round-${round}-${i}`,
          log,
          skewMs: skew(i),
          ttlSeconds: 60,
          release: false,
        }),
      );
      await Promise.all(takers.map((t) => t.ready));
      for (const t of takers) t.send('go');
      const outcomes = await Promise.all(takers.map((t) => t.outcome));
      const winners = takers.filter((_, i) => outcomes[i]!.outcome === 'held');
      if (winners.length !== 1) manyHolders.push(`round ${round}: ${winners.length} holders`);
      for (const o of outcomes) if (o.outcome === 'failed') failures.push(`round ${round}: ${o.message}`);
      // The winner dies holding the lock: the next round starts from a stale lock again.
      for (const w of winners) w.send('stop');
      await Promise.all(takers.map((t) => t.exit));
    }
    expect({ manyHolders, failures }).toEqual({ manyHolders: [], failures: [] });
    const held = holdings(log);
    expect(held).toHaveLength(31);
    expect(held.every((h) => Number.isInteger(h.token))).toBe(true);
    expect(overlaps(held)).toEqual([]);
  }, 600_000);

  it('a live holder keeps its lock against takers whose clocks are hours ahead (5 rounds)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'releng-lock-races-'));
    const log = join(dir, 'holdings.log');
    writeFileSync(log, '');
    for (let round = 1; round <= 5; round++) {
      const holder = taker({
        dir,
        name: 'publish',
        owner: `holder-${round}`,
        log,
        skewMs: 0,
        ttlSeconds: 60,
        release: true,
      });
      await holder.ready;
      holder.send('go');
      expect((await holder.outcome).outcome).toBe('held');
      const skews = [2 * HOUR, 5 * HOUR, 24 * HOUR, 61_000, -5 * HOUR, 0];
      const takers = skews.map((skewMs, i) =>
        taker({
          dir,
          name: 'publish',
          owner: `skewed-${round}-${i}`,
          log,
          skewMs,
          ttlSeconds: 60,
          release: true,
        }),
      );
      await Promise.all(takers.map((t) => t.ready));
      for (const t of takers) t.send('go');
      const outcomes = await Promise.all(takers.map((t) => t.outcome));
      expect(outcomes.map((o) => o.outcome)).toEqual(skews.map(() => 'refused'));
      for (const o of outcomes)
        expect(o.message).toMatch(new RegExp(`lock publish is held by holder-${round} `));
      holder.send('stop');
      expect((await holder.released).fenced).toBe('current');
      await Promise.all([holder.exit, ...takers.map((t) => t.exit)]);
    }
    expect(overlaps(holdings(log))).toEqual([]);
  }, 300_000);

  it('a holder whose heartbeat stopped loses its lock to a higher token, finds out, and leaves the new lock alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'releng-lock-races-'));
    const log = join(dir, 'holdings.log');
    writeFileSync(log, '');
    const timing = { heartbeatMs: 100, staleAfterMs: 1500 };
    const base = { dir, name: 'publish', log, skewMs: 0, ttlSeconds: 60, release: true, ...timing };
    const stopped = taker({ ...base, owner: 'stopped' });
    await stopped.ready;
    stopped.send('go');
    const first = await stopped.outcome;
    expect(first.outcome).toBe('held');
    // Frozen (a paused VM, a hung NFS client): alive, but no heartbeat.
    stopped.child.kill('SIGSTOP');
    const early = taker({ ...base, owner: 'early' });
    await early.ready;
    early.send('go');
    expect((await early.outcome).outcome).toBe('refused');
    await early.exit;
    await new Promise((r) => setTimeout(r, 2000));
    const next = taker({ ...base, owner: 'next' });
    await next.ready;
    next.send('go');
    const second = await next.outcome;
    expect(second.outcome).toBe('held');
    expect(second.token).toBeGreaterThan(first.token!);
    stopped.child.kill('SIGCONT');
    await new Promise((r) => setTimeout(r, 500));
    stopped.send('stop');
    const loser = await stopped.released;
    expect(loser.fenced).toMatch(/lock publish was lost: token [0-9]+ is no longer current/);
    expect(loser.lost).toMatch(/lock publish was lost/);
    await stopped.exit;
    // The lost holder's release left the new holder's lock in place.
    const locks = new FileLocks(dir, { now: () => new Date() });
    expect(await locks.read('publish')).toMatchObject({ owner: 'next', token: second.token });
    next.send('stop');
    expect((await next.released).fenced).toBe('current');
    await next.exit;
    expect(await locks.read('publish')).toBeUndefined();
  }, 120_000);
});
