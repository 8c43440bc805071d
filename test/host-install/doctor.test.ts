import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectTrees } from '../../host/framework/mounts.ts';
import { buildConfig } from '../../shared/config/load.ts';
import { GPG_HOME, newKey, newRoot, releng, signingKeyFor, stopAgent } from './support.ts';

/**
 * doctor on a real host root: tools with versions, trees (mounts where required, free space),
 * the signing key. And the one mount check every operation goes through: with
 * host.requireMounts a tree that is not a mount point stops an operation before it writes.
 */
let work: string;
let key: Awaited<ReturnType<typeof newKey>>;
let root: string;
const MOUNTS = ['mnt/koji', 'mnt/compose', 'mnt/repos-staging', 'mnt/repos-production'];

/** A config file in `root` with the key of major 8 and `host` settings. */
async function config(name: string, host: Record<string, unknown> = {}, keyId = key.keyId): Promise<string> {
  const path = join(root, `${name}.json`);
  await writeFile(path, JSON.stringify({ ...signingKeyFor(keyId), host }));
  return path;
}

const doctor = (configPath: string, env?: NodeJS.ProcessEnv, json = true) =>
  releng(
    ['doctor', '--root', root, '--config', configPath, '--major', '8', ...(json ? ['--json'] : [])],
    env,
  );

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'releng-doctor-'));
  key = await newKey(join(work, 'key'), 'Doctor Key <doctor@rocky.invalid>');
  const made = await newRoot(work, { secret: key.armour, overrides: signingKeyFor(key.keyId) });
  root = made.root;
  for (const mount of MOUNTS) await mkdir(join(root, mount), { recursive: true });
  const installed = await releng([
    'install-signing-key',
    '--root',
    root,
    '--config',
    made.config,
    '--major',
    '8',
  ]);
  expect(installed.code, installed.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await stopAgent(key.gpgHome);
  await stopAgent(join(root, GPG_HOME));
  await rm(work, { recursive: true, force: true });
});

describe('releng-host doctor', () => {
  it('reports each tool with its version, the trees and the signing key, and passes', async () => {
    const run = await doctor(await config('plain'));
    expect(run.result.error ?? '', run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(Buffer.byteLength(run.stdout.at(-1)!, 'utf8')).toBeLessThanOrEqual(4096);
    const tools = run.result.tools as { tool: string; found: boolean; version?: string; need: string }[];
    const byName = Object.fromEntries(tools.map((t) => [t.tool, t]));
    expect(byName.gpg?.version).toMatch(/^gpg \(GnuPG\) 2\./);
    expect(byName.rsync?.version).toMatch(/rsync +version/);
    expect(byName.mktorrent?.version).toMatch(/^mktorrent /);
    expect(byName.node?.version).toBe(process.version);
    for (const t of tools.filter((t) => t.need === 'required')) expect(t.found, t.tool).toBe(true);
    const trees = run.result.trees as { tree: string; path: string; mounted: boolean; freeGiB: number }[];
    expect(trees.map((t) => [t.tree, t.path, t.mounted])).toEqual([
      ['koji', join(root, 'mnt/koji'), false],
      ['compose', join(root, 'mnt/compose'), false],
      ['staging', join(root, 'mnt/repos-staging'), false],
      ['production', join(root, 'mnt/repos-production'), false],
    ]);
    expect(trees.every((t) => t.freeGiB > 0)).toBe(true);
    expect(run.result.signing).toMatchObject({
      mode: '0700',
      keys: [{ major: '8', keyId: key.keyId, fingerprint: key.fingerprint }],
    });
  });

  it('prints a readable table in text mode', async () => {
    const run = await doctor(await config('plain'), process.env, false);
    const text = run.stdout.join('\n');
    expect(text).toMatch(/^TOOL +NEED +VERSION +USED BY$/m);
    expect(text).toMatch(/^gpg +required +gpg \(GnuPG\) 2\.[0-9.]+ +sign-repos/m);
    expect(text).toMatch(
      new RegExp(`^staging +${join(root, 'mnt/repos-staging')} +not a mount point +[0-9.]+ GiB$`, 'm'),
    );
    expect(text).toMatch(new RegExp(`^8 +${key.keyId} +${key.fingerprint}$`, 'm'));
    expect(run.stdout.at(-1)).toBe('doctor: ok');
  });

  it('names a tool missing from PATH and fails', async () => {
    // A PATH with every tool doctor looks for except mktorrent.
    const bin = join(work, 'bin-without-mktorrent');
    await mkdir(bin, { recursive: true });
    const tools = ['createrepo_c', 'modifyrepo_c', 'gpg', 'gpg-agent', 'gpgconf', 'rsync', 'git', 'hardlink'];
    tools.push('find', 'findmnt', 'rpm', 'dnf', 'rpmsign', 'rpmbuild', 'pungi-koji');
    for (const tool of tools) {
      const found = (process.env.PATH ?? '')
        .split(delimiter)
        .map((dir) => join(dir, tool))
        .find((path) => existsSync(path));
      if (found && !existsSync(join(bin, tool))) await symlink(found, join(bin, tool));
    }
    expect(await readdir(bin)).not.toContain('mktorrent');
    const run = await doctor(await config('plain'), { ...process.env, PATH: bin });
    expect(run.code).toBe(1);
    expect(run.result.problems).toEqual(['mktorrent is not installed or not on PATH (needed by torrents)']);
    const row = (run.result.tools as { tool: string; found: boolean }[]).find((t) => t.tool === 'mktorrent');
    expect(row?.found).toBe(false);
    const text = await doctor(await config('plain'), { ...process.env, PATH: bin }, false);
    expect(text.stdout.join('\n')).toMatch(/^mktorrent +required +MISSING +torrents$/m);
    expect(text.stdout.at(-1)).toMatch(/^doctor: FAILED: doctor found 1 problem: mktorrent is not installed/);
  });

  it('fails naming each tree that is not mounted when host.requireMounts is true', async () => {
    const run = await doctor(await config('mounts', { requireMounts: true }));
    expect(run.code).toBe(1);
    const trees: [string, string][] = [
      ['koji', 'mnt/koji'],
      ['compose', 'mnt/compose'],
      ['staging', 'mnt/repos-staging'],
      ['production', 'mnt/repos-production'],
    ];
    for (const [tree, path] of trees)
      expect(run.result.problems).toContain(
        `${tree} tree ${join(root, path)} is not mounted; the EFS mount failed? (host.requireMounts is true)`,
      );
  });

  it('fails naming each tree with less free space than host.minFreeGiB', async () => {
    const run = await doctor(await config('space', { minFreeGiB: 1_000_000 }));
    expect(run.code).toBe(1);
    const problems = run.result.problems as string[];
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(
      new RegExp(`^koji tree ${join(root, 'mnt/koji')}: [0-9.]+ GiB free, below host.minFreeGiB 1000000$`),
    );
  });

  it('fails when no secret key in the gpg home is the configured signing key', async () => {
    const run = await doctor(await config('other-key', {}, 'AAAABBBBCCCCDDDD'));
    expect(run.code).toBe(1);
    expect(run.result.problems).toEqual([
      `no secret key in ${join(root, GPG_HOME)} matches majors.8.signingKeyId AAAABBBBCCCCDDDD (releng-host install-signing-key installs it)`,
    ]);
  });
});

describe('operations refuse trees that are not mounted when the config requires mounts', () => {
  it('a writing operation refuses to start, naming each tree and its path, and writes nothing', async () => {
    const refused = await releng([
      'file-lists',
      '--root',
      root,
      '--config',
      await config('mounts', { requireMounts: true }),
      '--json',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.result.error).toBe(
      `file-lists refuses to start: compose tree ${join(root, 'mnt/compose')} is not mounted; the EFS mount failed? (host.requireMounts is true); production tree ${join(root, 'mnt/repos-production')} is not mounted; the EFS mount failed? (host.requireMounts is true)`,
    );
    expect(await readdir(join(root, 'mnt/repos-production'))).toEqual([]);
    expect(existsSync(join(root, 'mnt/compose/.releng'))).toBe(false);

    const staging = await releng([
      'sync-to-staging',
      '--root',
      root,
      '--config',
      await config('mounts', { requireMounts: true }),
      '--major',
      '8',
      '--compose',
      'Rocky',
      '--json',
    ]);
    expect(staging.code).toBe(1);
    expect(staging.result.error).toMatch(/^sync-to-staging refuses to start: compose tree .* staging tree /);
  });

  it('the same operation runs when the config does not require mounts', async () => {
    const run = await releng(['file-lists', '--root', root, '--config', await config('plain'), '--json']);
    expect(run.result.error ?? '').toBe('');
    expect(run.code).toBe(0);
  });

  it('findmnt tells a mount point from a directory, and a mount of the wrong type is refused', async () => {
    // /proc is a mount point on every Linux host: a tree configured there is mounted, but not EFS.
    const overrides = { mounts: { koji: 'proc', compose: 'tmp', staging: 'proc', production: 'proc' } };
    const required = buildConfig({ ...overrides, host: { requireMounts: true } });
    const [proc] = await inspectTrees(required, '/', ['koji']);
    expect(proc).toMatchObject({ tree: 'koji', path: '/proc', mounted: true, fstype: 'proc' });
    expect(proc?.problem).toBe(
      'koji tree /proc is a proc mount of proc, not nfs4 or efs (host.requireMounts is true)',
    );
    const [plain] = await inspectTrees(buildConfig(overrides), '/', ['koji']);
    expect(plain?.mounted).toBe(true);
    expect(plain?.problem).toBeUndefined();
  });
});
