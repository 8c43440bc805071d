/**
 * One lock taker, run as its own process by lock-races.test.ts. It waits for "go" on stdin, so
 * six takers start together, then tries FileLocks.acquire once. A winner logs its token and
 * holding interval (real wall time, shared by all takers on this host) and holds until "stop",
 * then checks its fence as a writer would and releases, or dies holding (SIGKILL).
 */
import { appendFileSync } from 'node:fs';
import { FileLocks, LockHeldError } from '../../host/framework/locks.ts';

interface TakerOptions {
  dir: string;
  name: string;
  owner: string;
  log: string;
  /** Added to this taker's Clock: a host whose clock runs ahead (or behind). */
  skewMs: number;
  ttlSeconds: number;
  /** After "stop": release the lock, or die holding it (SIGKILL), leaving it stale. */
  release: boolean;
  heartbeatMs?: number;
  staleAfterMs?: number;
}

const o = JSON.parse(process.argv[2]!) as TakerOptions;
const say = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);
const lines: string[] = [];
let waiting: ((line: string) => void) | undefined;
let buffered = '';
process.stdin.on('data', (chunk: Buffer) => {
  buffered += chunk.toString();
  for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
    lines.push(buffered.slice(0, at));
    buffered = buffered.slice(at + 1);
  }
  const resolve = waiting;
  if (resolve && lines.length) {
    waiting = undefined;
    resolve(lines.shift()!);
  }
});
const next = () =>
  new Promise<string>((resolve) => {
    const line = lines.shift();
    if (line === undefined) waiting = resolve;
    else resolve(line);
  });

const locks = new FileLocks(
  o.dir,
  { now: () => new Date(Date.now() + o.skewMs) },
  {
    ...(o.heartbeatMs ? { heartbeatMs: o.heartbeatMs } : {}),
    ...(o.staleAfterMs ? { staleAfterMs: o.staleAfterMs } : {}),
  },
);
say({ ready: process.pid });
await next();
let lease: Awaited<ReturnType<FileLocks['acquire']>>;
try {
  lease = await locks.acquire(o.name, o.owner, o.ttlSeconds);
} catch (err) {
  say({ outcome: err instanceof LockHeldError ? 'refused' : 'failed', message: (err as Error).message });
  process.exit(0);
}
const token = lease?.token;
appendFileSync(o.log, `${JSON.stringify({ owner: o.owner, token, event: 'start', at: Date.now() })}\n`);
say({ outcome: 'held', token });
await next();
// The writer's check before it commits: is this still the newest token?
const fenced = await (lease?.check?.() ?? Promise.resolve()).then(
  () => 'current',
  (err: Error) => err.message,
);
const lost = lease?.signal?.aborted ? String((lease.signal.reason as Error).message) : undefined;
appendFileSync(o.log, `${JSON.stringify({ owner: o.owner, token, event: 'end', at: Date.now(), fenced })}\n`);
if (!o.release) process.kill(process.pid, 'SIGKILL');
await (lease?.release?.() ?? locks.release(o.name, o.owner));
say({ outcome: 'released', fenced, lost });
process.exit(0);
