import { readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from '../../host/framework/exec.ts';
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
  /^.(var\/log\/releng|var\/lib\/releng\/(results|hash-cache|doctor)|mnt\/[^/]+\/\.releng|mnt\/compose\/\.releng)(\/|$)/.test(
    change,
  ) ||
  // The host state dir's own mtime moves when a bookkeeping child (doctor's tool cache) is made.
  change === '~var/lib/releng' ||
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
    // Locally a file under etc/releng/secrets stands in for the Secrets Manager secret.
    const secretStandIn = 'etc/releng/secrets/';
    const secret = /-----BEGIN PGP PRIVATE KEY BLOCK-----|\(protected-private-key|\(private-key/;
    const state = await treeState(world.root);
    const files = [...state].filter(([path, s]) => s.startsWith('f ') && !path.startsWith(`${gpgHome}/`));
    // The check can find a key: the home itself does hold one.
    const inHome = [...state].filter(([path, s]) => s.startsWith('f ') && path.startsWith(`${gpgHome}/`));
    const holds = (path: string) => secret.test(readFileSync(join(world.root, path), 'latin1'));
    expect(inHome.some(([path]) => holds(path))).toBe(true);
    expect(files.filter(([path]) => path.startsWith('var/log/releng/')).length).toBeGreaterThan(10);
    expect(files.filter(([path]) => holds(path)).map(([path]) => path)).toEqual([
      `${secretStandIn}releng/signing-key`,
    ]);
  });
});

/**
 * Guarantee 2 on the same world: after approval (the digest verify-staging named), staging that
 * changed in any way is refused at publish, a tampered signature fails verify; restored, the
 * same approval publishes (so the refusals were about the change, nothing else).
 */
describe('nothing ships that was not verified and approved', () => {
  const staging = () => join(world.root, 'mnt/repos-staging/mirror/pub/rocky/8.7-RC1');
  const production = () => join(world.root, 'mnt/repos-production/mirror/pub/rocky/8.7');
  const repodata = () => join(staging(), 'BaseOS/x86_64/os/repodata');

  async function refusedPublish(): Promise<void> {
    const before = await treeState(production());
    const run = await world.host('sync-to-prod');
    expect(run.code).toBe(1);
    expect(run.result.error).toMatch(
      /is not the approved content: its digest is [a-f0-9]{64}, the approval named/,
    );
    expect(treeChanges(before, await treeState(production()))).toEqual([]);
  }

  it('refuses a package added to staging after approval', async () => {
    const extra = join(staging(), 'BaseOS/x86_64/os/Packages/extra-1.0-1.el8.noarch.rpm');
    await copyFile(
      join(world.root, 'mnt/koji/packages/demo-hello/1.0/1.el8/noarch/demo-hello-1.0-1.el8.noarch.rpm'),
      extra,
    );
    await refusedPublish();
    await rm(extra);
  });

  it('refuses repodata re-signed after approval (same key, same repomd, a new signature)', async () => {
    const asc = join(repodata(), 'repomd.xml.asc');
    const approved = await readFile(asc);
    await new Promise((r) => setTimeout(r, 1100)); // a signature made a second later differs
    await execFile(
      [
        'gpg',
        '--batch',
        '--yes',
        '--local-user',
        world.store.key.keyId,
        '--armor',
        '--detach-sign',
        '--output',
        asc,
        join(repodata(), 'repomd.xml'),
      ],
      { env: { ...process.env, GNUPGHOME: world.store.key.gpgHome } },
    );
    expect((await readFile(asc)).equals(approved)).toBe(false);
    await refusedPublish();
    await writeFile(asc, approved);
  });

  it('fails verify on a tampered repomd.xml.asc, naming the repo', async () => {
    const asc = join(repodata(), 'repomd.xml.asc');
    const approved = await readFile(asc, 'utf8');
    const lines = approved.split('\n');
    const body = lines.findIndex((l) => /^[A-Za-z0-9+/]{40,}/.test(l));
    lines[body] = `${lines[body]![0] === 'A' ? 'B' : 'A'}${lines[body]!.slice(1)}`;
    await writeFile(asc, lines.join('\n'));
    const run = await world.host('verify-staging');
    expect(run.code).toBe(1);
    expect(run.result.error).toContain(
      'BaseOS/x86_64/os: repodata/repomd.xml.asc is missing or does not verify',
    );
    await writeFile(asc, approved);
  });

  it('publishes with the same approval once staging is what was approved again', async () => {
    const run = await world.host('sync-to-prod');
    expect(run.result.error ?? '', run.stderr).toBe('');
    expect(run.code).toBe(0);
  });
});
