import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolCacheFile } from '../../host/doctor/tool-cache.ts';
import { GPG_HOME, newKey, newRoot, releng, signingKeyFor, stopAgent } from './support.ts';

/**
 * doctor remembers the tools it probed for a few minutes per host, but only while what each was
 * probed from is unchanged: a tool removed, replaced or losing its dnf plugin is probed again,
 * and a missing one still fails doctor. The tools below are real programs on a PATH of their
 * own: mktorrent and dnf are scripts that count their runs; dnf's "interpreter" is a script too,
 * which answers where dnf's plugins are (what doctor asks of dnf's Python) with a dir of ours.
 */
let work: string;
let root: string;
let configPath: string;
let bin: string;
let plugins: string;
let key: Awaited<ReturnType<typeof newKey>>;

const runs = async (tool: string) =>
  (await readFile(join(work, `${tool}.runs`), 'utf8').catch(() => '')).split('\n').filter(Boolean).length;

async function script(path: string, lines: string[]): Promise<void> {
  await writeFile(path, `${lines.join('\n')}\n`);
  await chmod(path, 0o755);
}

async function fakeMktorrent(version: string): Promise<void> {
  await script(join(bin, 'mktorrent'), [
    '#!/bin/sh',
    `echo run >> '${join(work, 'mktorrent.runs')}'`,
    `echo 'mktorrent ${version} (c) demo'`,
  ]);
}

const doctor = (json = true) =>
  releng(['doctor', '--root', root, '--config', configPath, '--major', '8', ...(json ? ['--json'] : [])], {
    ...process.env,
    PATH: bin,
  });

const row = (result: Record<string, unknown>, tool: string) =>
  (result.tools as Array<{ tool: string; found: boolean; version?: string }>).find((t) => t.tool === tool);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'releng-doctor-cache-'));
  key = await newKey(join(work, 'key'), 'Doctor Cache Key <doctor@rocky.invalid>');
  const made = await newRoot(work, { secret: key.armour, overrides: signingKeyFor(key.keyId) });
  root = made.root;
  configPath = made.config;
  for (const mount of ['mnt/koji', 'mnt/compose', 'mnt/repos-staging', 'mnt/repos-production'])
    await mkdir(join(root, mount), { recursive: true });
  const installed = await releng([
    'install-signing-key',
    '--root',
    root,
    '--config',
    configPath,
    '--major',
    '8',
  ]);
  expect(installed.code, installed.stderr).toBe(0);

  // A PATH of the real tools doctor looks for, but mktorrent and dnf of ours.
  bin = join(work, 'bin');
  plugins = join(work, 'dnf-plugins');
  await mkdir(bin, { recursive: true });
  await mkdir(plugins, { recursive: true });
  const real = ['createrepo_c', 'modifyrepo_c', 'gpg', 'gpg-agent', 'gpgconf', 'rsync', 'git', 'hardlink'];
  real.push('find', 'findmnt', 'rpm', 'rpmsign', 'rpmbuild', 'sh');
  for (const tool of real) {
    const found = (process.env.PATH ?? '')
      .split(delimiter)
      .map((dir) => join(dir, tool))
      .find((path) => existsSync(path));
    if (found) await symlink(found, join(bin, tool));
  }
  await fakeMktorrent('1.1');
  // `#!python -c CODE` asks where the plugins are; `#!python dnf ARGS` runs dnf.
  const python = join(work, 'python');
  await script(python, [
    '#!/bin/sh',
    `if [ "$1" = -c ]; then echo '${join(plugins, 'repoclosure.py')}'; exit 0; fi`,
    'shift',
    `echo "$*" >> '${join(work, 'dnf.runs')}'`,
    'case "$1" in',
    '  --version) echo 4.14.0 ;;',
    `  repoclosure) if [ -f '${join(plugins, 'repoclosure.py')}' ]; then echo 'usage: dnf repoclosure'; else echo 'No such command: repoclosure.' >&2; exit 1; fi ;;`,
    'esac',
  ]);
  await script(join(bin, 'dnf'), [`#!${python}`]);
  await writeFile(join(plugins, 'repoclosure.py'), '# the plugin\n');
}, 60_000);

afterAll(async () => {
  await stopAgent(key.gpgHome);
  await stopAgent(join(root, GPG_HOME));
  await rm(work, { recursive: true, force: true });
});

describe('doctor remembers probed tools while they are unchanged', () => {
  it('probes once, then answers from what it remembered without running the tools', async () => {
    const first = await doctor();
    expect(first.code, JSON.stringify(first.result.problems)).toBe(0);
    expect(row(first.result, 'mktorrent')?.version).toBe('mktorrent 1.1 (c) demo');
    expect(row(first.result, 'dnf repoclosure')).toMatchObject({
      found: true,
      version: 'usage: dnf repoclosure',
    });
    expect(existsSync(toolCacheFile(root))).toBe(true);
    const dnfRuns = await runs('dnf');
    expect(dnfRuns).toBe(2);

    const second = await doctor(false);
    expect(second.code).toBe(0);
    expect(second.stdout.join('\n')).toMatch(/^mktorrent +required +mktorrent 1\.1 \(c\) demo +torrents$/m);
    expect(await runs('mktorrent')).toBe(1);
    expect(await runs('dnf')).toBe(dnfRuns);
  });

  it('probes a replaced tool again', async () => {
    await fakeMktorrent('1.2');
    const run = await doctor();
    expect(row(run.result, 'mktorrent')?.version).toBe('mktorrent 1.2 (c) demo');
    expect(await runs('mktorrent')).toBe(2);
  });

  it('fails when dnf loses its repoclosure plugin, though the row was remembered', async () => {
    await rm(join(plugins, 'repoclosure.py'));
    const run = await doctor();
    expect(run.code).toBe(1);
    expect(run.result.problems).toEqual([
      'dnf repoclosure is not installed or not on PATH (needed by verify-staging)',
    ]);
    expect(row(run.result, 'dnf')?.found).toBe(true);
    await writeFile(join(plugins, 'repoclosure.py'), '# the plugin again\n');
    expect((await doctor()).code).toBe(0);
  });

  it('fails naming a tool removed from PATH after it was remembered', async () => {
    await rm(join(bin, 'mktorrent'));
    const run = await doctor();
    expect(run.code).toBe(1);
    expect(run.result.problems).toEqual(['mktorrent is not installed or not on PATH (needed by torrents)']);
    expect(row(run.result, 'mktorrent')?.found).toBe(false);
  });

  it('forgets what it probed after a few minutes', async () => {
    await fakeMktorrent('1.3');
    await doctor();
    const before = await runs('mktorrent');
    // The remembered rows, made older than the cache keeps them.
    const file = toolCacheFile(root);
    const cache = JSON.parse(await readFile(file, 'utf8')) as { rows: Record<string, { checkedAt: number }> };
    for (const remembered of Object.values(cache.rows)) remembered.checkedAt -= 11 * 60 * 1000;
    await writeFile(file, JSON.stringify(cache));
    await doctor();
    expect(await runs('mktorrent')).toBe(before + 1);
  });
});
