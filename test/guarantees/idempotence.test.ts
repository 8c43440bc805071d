import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_OPERATIONS, type HostOperationName } from '../../shared/operations.ts';
import { treeChanges, treeState } from './tree-hash.ts';
import { buildWorld, type World } from './world.ts';

/**
 * Guarantee 5: every operation can be dry-run and rerun. On a root where every operation has
 * run for real, each `releng-host OP --dry-run` must leave the whole root as it was (paths,
 * modes, sizes, mtimes, contents, link targets, directories), and each rerun for real must
 * change nothing but bookkeeping.
 */

/**
 * gpg keeps runtime state in its home (lock files it makes and removes, agent sockets,
 * trustdb checks) even for --verify; that is gpg's, not ours. The keys themselves must not move.
 */
const gpgRuntime = (path: string, state: string | undefined) =>
  path.startsWith('etc/releng/gnupg') && (state?.startsWith('d ') || /\/(S\.|\.#lk|[^/]*\.lock$)/.test(path));

function changesOf(before: Map<string, string>, after: Map<string, string>): string[] {
  return treeChanges(before, after).filter((change) => {
    const path = change.slice(1);
    return !gpgRuntime(path, before.get(path) ?? after.get(path));
  });
}

/** What a rerun may rewrite: its log, the lock it took and released, the manifest of the same digest. */
const bookkeeping = (change: string) =>
  /^.(var\/log\/releng|mnt\/[^/]+\/\.releng|mnt\/compose\/\.releng)(\/|$)/.test(change) ||
  change.includes('/.git/') ||
  /\.git$/.test(change);

let work: string;
let world: World;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'releng-guarantee5-'));
  world = await buildWorld(join(work, 'root'));
}, 300_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const OPERATIONS = Object.keys(HOST_OPERATIONS) as HostOperationName[];

describe('--dry-run writes nothing', () => {
  it.each(OPERATIONS)(
    'releng-host %s --dry-run leaves the whole root byte for byte as it was',
    async (op) => {
      const before = await treeState(world.root);
      const run = await world.host(op, '--dry-run');
      expect(run.result.error ?? '', run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.result.dryRun).toBe(true);
      expect(Array.isArray(run.result.plan), 'a dry run reports its plan').toBe(true);
      expect(changesOf(before, await treeState(world.root))).toEqual([]);
    },
  );
});

/** compose makes a new compose on every run by design (a new ID); its resume is tested in host-staging. */
const RERUNNABLE = OPERATIONS.filter((op) => op !== 'compose' && op !== 'rollback');

describe('a rerun after success changes nothing', () => {
  it.each(RERUNNABLE)('releng-host %s run again changes no published or staged file', async (op) => {
    const before = await treeState(world.root);
    const run = await world.host(op);
    expect(run.result.error ?? '', run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(changesOf(before, await treeState(world.root)).filter((c) => !bookkeeping(c))).toEqual([]);
  });

  it('verify-staging run again names the same digest the publish was approved with', async () => {
    const run = await world.host('verify-staging');
    expect(run.result.digest).toBe(world.digest);
  });
});

describe('the signing key stays in its place', () => {
  it('no file outside the gpg home, logs and results included, holds private key material', async () => {
    const gpgHome = 'etc/releng/gnupg';
    const secret = /-----BEGIN PGP PRIVATE KEY BLOCK-----|\(protected-private-key|\(private-key/;
    const state = await treeState(world.root);
    const files = [...state].filter(([path, s]) => s.startsWith('f ') && !path.startsWith(`${gpgHome}/`));
    // The check can find a key: the home itself does hold one.
    const inHome = [...state].filter(([path, s]) => s.startsWith('f ') && path.startsWith(`${gpgHome}/`));
    const holds = (path: string) => secret.test(readFileSync(join(world.root, path), 'latin1'));
    expect(inHome.some(([path]) => holds(path))).toBe(true);
    expect(files.filter(([path]) => path.startsWith('var/log/releng/')).length).toBeGreaterThan(10);
    expect(files.filter(([path]) => holds(path)).map(([path]) => path)).toEqual([]);
  });
});
