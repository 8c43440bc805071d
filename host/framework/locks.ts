import { randomBytes } from 'node:crypto';
import {
  type FileHandle,
  link,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { errnoCode, errorMessage, RelengError } from '../../shared/errors.ts';
import type { Clock } from '../../shared/ports.ts';

export interface FileLockHolder {
  name: string;
  owner: string;
  host: string;
  pid: number;
  /** The fencing token: one more than the lock's previous holder's. */
  token: number;
  /** The holder's own clock, for people: no taker judges expiry by it. */
  acquiredAt: string;
  expiresAt: string;
}

export class LockHeldError extends RelengError {
  override readonly name = 'LockHeldError';
  constructor(readonly holder: FileLockHolder) {
    super(
      `lock ${holder.name} is held by ${holder.owner} (pid ${holder.pid} on ${holder.host}) until ${holder.expiresAt} (token ${holder.token})`,
    );
  }
}

/** The holder's lock was taken over (its heartbeat went stale) or it ran past its ttl. */
export class LockLostError extends RelengError {
  override readonly name = 'LockLostError';
  constructor(name: string, token: number, why: string) {
    super(`lock ${name} was lost: token ${token} is no longer current (${why})`);
  }
}

/** What a holder gets: its fencing token, a signal that fires if it loses the lock, a fence check. */
export interface LockLease {
  readonly name: string;
  readonly owner: string;
  readonly token: number;
  /** Aborted (reason: LockLostError) as soon as a heartbeat finds the lock gone or the ttl passed. */
  readonly signal: AbortSignal;
  /** A writer's check before it commits: throws LockLostError unless this token is still current. */
  check(): Promise<void>;
  /** Lets go, if still the holder; never touches a newer holder's claim. */
  release(): Promise<void>;
}

export interface LockTiming {
  /** How often a holder rewrites its claim, refreshing the claim's mtime (the file system's clock). */
  heartbeatMs: number;
  /** A claim whose mtime is this much older than the file system's now is stale. */
  staleAfterMs: number;
}

/** Stale after two minutes without a heartbeat: longer than NFS attribute caching (60 s). */
export const DEFAULT_LOCK_TIMING: LockTiming = { heartbeatMs: 10_000, staleAfterMs: 120_000 };

/** Locks live on the shared compose mount so every host sees them. */
export function lockDir(config: ReleaseConfig, root: string): string {
  return join(root, config.mounts.compose, '.releng', 'locks');
}

function alive(pid: number): boolean {
  try {
    return process.kill(pid, 0);
  } catch (err) {
    return code(err) === 'EPERM';
  }
}

const code = (err: unknown) => errnoCode(err);
const CLAIM = /^([0-9]+)(\.released)?$/;

type Claim = { token: number; released: boolean; holder: FileLockHolder; mtimeMs: number };

/** The live leases of this process, so `release(name, owner)` finds the one to let go. */
const leases = new Map<string, Lease>();

/**
 * Each acquisition is a claim on the next fencing token: `<lock>.claims/<token>`, created with
 * link(2), which fails if the name exists. Only one taker can create token N+1, whether N was
 * released or stale, so exactly one wins; no taker ever moves another's claim. The newest
 * claim is the lock. Its holder rewrites it every heartbeat; it is stale when its process on
 * this host is gone, or when its mtime is older than `staleAfterMs` by the file system's clock
 * (a probe file's mtime), so no taker's clock decides. `<lock>.lock` is a symlink to the newest
 * claim, for people: it dangles once the claim is released.
 */
export class FileLocks {
  private readonly timing: LockTiming;

  constructor(
    private readonly dir: string,
    private readonly clock: Clock,
    timing: Partial<LockTiming> = {},
  ) {
    this.timing = { ...DEFAULT_LOCK_TIMING, ...timing };
    const { heartbeatMs, staleAfterMs } = this.timing;
    if (!(heartbeatMs > 0 && staleAfterMs >= 2 * heartbeatMs))
      throw new Error(
        `lock timing: heartbeat ${heartbeatMs} ms and stale after ${staleAfterMs} ms (needs at least two heartbeats)`,
      );
  }

  private safe = (name: string) => name.replaceAll(/[^A-Za-z0-9_.-]/g, '_');
  private claims = (name: string) => join(this.dir, `${this.safe(name)}.claims`);
  claimPath = (name: string, token: number) => join(this.claims(name), String(token));
  private key = (name: string) => `${this.dir}\0${name}`;

  /** The newest claim, read through one open handle (on NFS, open revalidates the mtime). */
  private async newest(name: string): Promise<Claim | undefined> {
    for (let attempt = 0; ; attempt++) {
      let entries: string[];
      try {
        entries = await readdir(this.claims(name));
      } catch (err) {
        if (code(err) === 'ENOENT') return undefined;
        throw err;
      }
      const parsed = entries.map((e) => CLAIM.exec(e)).filter((m) => m !== null);
      if (!parsed.length) return undefined;
      const top = parsed.reduce((a, b) => (Number(b[1]) > Number(a[1]) ? b : a));
      const token = Number(top[1]);
      let fh: FileHandle | undefined;
      try {
        fh = await open(join(this.claims(name), top[0]), 'r');
        const { mtimeMs } = await fh.stat();
        const holder = this.parse(name, token, await fh.readFile('utf8'));
        return { token, released: top[2] !== undefined, holder, mtimeMs };
      } catch (err) {
        // Released, or pruned by a newer holder, between the listing and the open: look again.
        if (code(err) !== 'ENOENT' || attempt >= 10) throw err;
      } finally {
        await fh?.close();
      }
    }
  }

  private parse(name: string, token: number, text: string): FileLockHolder {
    try {
      return { ...(JSON.parse(text) as FileLockHolder), token };
    } catch {
      // Never written by us (claims are complete before they are linked): judged by its mtime alone.
      const unknown = 'an unreadable claim';
      return { name, owner: unknown, host: unknown, pid: 0, token, acquiredAt: unknown, expiresAt: unknown };
    }
  }

  /** The file system's now: the mtime of a file just written there, as a heartbeat's is. */
  private async fsNow(): Promise<number> {
    const probe = join(this.dir, `.clock-${randomBytes(6).toString('hex')}`);
    try {
      await writeFile(probe, 'now', { flag: 'wx' });
      const fh = await open(probe, 'r'); // on NFS, open fetches the server's attributes
      const { mtimeMs } = await fh.stat().finally(() => fh.close());
      return mtimeMs;
    } finally {
      await rm(probe, { force: true });
    }
  }

  private async stale(claim: Claim): Promise<boolean> {
    const { host, pid } = claim.holder;
    if (host === hostname() && pid > 0 && !alive(pid)) return true;
    return (await this.fsNow()) - claim.mtimeMs > this.timing.staleAfterMs;
  }

  /** Who holds the lock (even if stale), or undefined when it is free. Writes nothing. */
  async read(name: string): Promise<FileLockHolder | undefined> {
    const claim = await this.newest(name);
    return claim && !claim.released ? claim.holder : undefined;
  }

  /** Takes the lock or throws LockHeldError naming who holds it. */
  async acquire(name: string, owner: string, ttlSeconds: number): Promise<LockLease> {
    if (!(Number.isFinite(ttlSeconds) && ttlSeconds > 0))
      throw new Error(`lock ${name}: ttl ${ttlSeconds} is not a positive number of seconds`);
    await mkdir(this.claims(name), { recursive: true });
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.newest(name);
      if (current && !current.released && !(await this.stale(current)))
        throw new LockHeldError(current.holder);
      const lease = await this.claim(name, owner, ttlSeconds, (current?.token ?? 0) + 1);
      if (lease) return lease;
      // Another taker won that token: look at the lock again (it is most likely theirs now).
    }
    throw new Error(`lock ${name}: could not be taken after 5 attempts`);
  }

  private async claim(name: string, owner: string, ttlSeconds: number, token: number) {
    const now = this.clock.now().getTime();
    const [acquiredAt, expiresAt] = [now, now + ttlSeconds * 1000].map((t) => new Date(t).toISOString());
    const holder = { name, owner, host: hostname(), pid: process.pid, token, acquiredAt, expiresAt };
    const path = this.claimPath(name, token);
    const tmp = join(this.claims(name), `.${randomBytes(6).toString('hex')}.tmp`);
    const fh = await open(tmp, 'wx+');
    let won = false;
    try {
      const body = Buffer.from(`${JSON.stringify(holder)}\n`);
      await fh.write(body, 0, body.length, 0);
      await fh.sync();
      const { ino } = await fh.stat();
      try {
        await link(tmp, path);
      } catch (err) {
        // NFS may answer a retried LINK with EEXIST although the first one made it.
        if (code(err) !== 'EEXIST' || (await stat(path).catch(() => undefined))?.ino !== ino) {
          if (code(err) === 'EEXIST') return undefined;
          throw err;
        }
      } finally {
        await rm(tmp, { force: true });
      }
      const lease = new Lease(this, name, owner, token, fh, ino, body, ttlSeconds, this.timing);
      // Beat at once (the claim's mtime dates from before the link), then make sure no one took
      // the next token meanwhile, as they might have if this process paused before linking.
      if (!(await lease.beat())) return undefined;
      won = true;
      leases.set(this.key(name), lease);
      await this.show(name, token);
      await this.prune(name, token);
      return lease;
    } finally {
      if (!won) await Promise.all([fh.close(), rm(tmp, { force: true })]);
    }
  }

  forget(name: string, lease: Lease): void {
    if (leases.get(this.key(name)) === lease) leases.delete(this.key(name));
  }

  /** `<name>.lock` -> the newest claim: what `cat` and `ls` show an operator. */
  private async show(name: string, token: number): Promise<void> {
    const tmp = join(this.dir, `.${randomBytes(6).toString('hex')}.view`);
    await symlink(join(`${this.safe(name)}.claims`, String(token)), tmp);
    await rename(tmp, join(this.dir, `${this.safe(name)}.lock`)).catch(() => rm(tmp, { force: true }));
  }

  /** Older claims are history; the newest (even released) stays so the tokens keep growing. */
  private async prune(name: string, token: number): Promise<void> {
    for (const entry of await readdir(this.claims(name))) {
      const m = CLAIM.exec(entry);
      if (m && Number(m[1]) < token) await rm(join(this.claims(name), entry), { force: true });
    }
  }

  async release(name: string, owner: string): Promise<void> {
    const lease = leases.get(this.key(name));
    if (lease && lease.owner === owner) await lease.release();
  }

  /** Like acquire, but waits up to `waitMs` for a live holder to finish. */
  async acquireWaiting(name: string, owner: string, ttlSeconds: number, waitMs: number): Promise<LockLease> {
    const deadline = performance.now() + waitMs;
    for (let delay = 50; ; delay = Math.min(delay * 2, 2000)) {
      try {
        return await this.acquire(name, owner, ttlSeconds);
      } catch (err) {
        if (!(err instanceof LockHeldError) || performance.now() + delay > deadline) throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /**
   * Runs `fn` holding the lock, releasing it on every exit path. `fn` gets the lease: a writer
   * checks `lease.check()` before it commits. A run that lost the lock meanwhile fails with
   * LockLostError even if `fn` succeeded, since another holder may have written alongside.
   */
  async with<T>(
    name: string,
    owner: string,
    ttlSeconds: number,
    fn: (lease: LockLease) => Promise<T>,
  ): Promise<T> {
    const lease = await this.acquire(name, owner, ttlSeconds);
    try {
      const result = await fn(lease);
      await lease.check();
      return result;
    } finally {
      await lease.release();
    }
  }
}

class Lease implements LockLease {
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  private readonly started = performance.now();
  private lastBeat = performance.now();
  private readonly timer: NodeJS.Timeout;
  private beating: Promise<boolean> | undefined;
  private done = false;

  constructor(
    private readonly locks: FileLocks,
    readonly name: string,
    readonly owner: string,
    readonly token: number,
    private readonly fh: FileHandle,
    private readonly ino: number,
    private readonly body: Buffer,
    private readonly ttlSeconds: number,
    private readonly timing: LockTiming,
  ) {
    this.timer = setInterval(() => void this.beat(), timing.heartbeatMs);
    this.timer.unref();
  }

  /** Why this lease is no longer the lock, or undefined while it is. */
  private async superseded(): Promise<string | undefined> {
    const own = await stat(this.locks.claimPath(this.name, this.token)).catch(() => undefined);
    if (own?.ino !== this.ino) return `claim ${this.token} was removed by a newer holder`;
    const next = this.locks.claimPath(this.name, this.token + 1);
    for (const path of [next, `${next}.released`])
      if (await stat(path).catch(() => undefined)) return `token ${this.token + 1} was taken`;
    return undefined;
  }

  private lose(why: string): void {
    if (!this.signal.aborted) this.controller.abort(new LockLostError(this.name, this.token, why));
    clearInterval(this.timer);
  }

  /** Checks ownership, then rewrites the claim so its mtime moves. False once the lock is lost. */
  beat(): Promise<boolean> {
    this.beating ??= this.beatOnce().finally(() => {
      this.beating = undefined;
    });
    return this.beating;
  }

  private async beatOnce(): Promise<boolean> {
    if (this.done || this.signal.aborted) return false;
    if (performance.now() - this.started > this.ttlSeconds * 1000) {
      this.lose(`held past its ttl of ${this.ttlSeconds} s`);
      return false;
    }
    try {
      const why = await this.superseded();
      if (why) {
        this.lose(why);
        return false;
      }
      await this.fh.write(this.body, 0, this.body.length, 0);
      await this.fh.sync();
      this.lastBeat = performance.now();
    } catch (err) {
      // A passing I/O error is not a loss; heartbeats failing until others may judge us stale is.
      if (performance.now() - this.lastBeat > this.timing.staleAfterMs / 2)
        this.lose(`heartbeats failing: ${errorMessage(err)}`);
    }
    return !this.signal.aborted;
  }

  async check(): Promise<void> {
    if (!this.signal.aborted) {
      const why = await this.superseded();
      if (why) this.lose(why);
    }
    if (this.signal.aborted) throw this.signal.reason;
  }

  async release(): Promise<void> {
    if (this.done) return;
    this.done = true;
    clearInterval(this.timer);
    await this.beating;
    this.locks.forget(this.name, this);
    try {
      if (!(await this.superseded())) {
        const path = this.locks.claimPath(this.name, this.token);
        await rename(path, `${path}.released`).catch((err) => {
          if (code(err) !== 'ENOENT') throw err;
        });
      }
    } finally {
      await this.fh.close();
    }
  }
}
