import { readlinkSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PackageStore } from '../../cli/demo/package-store.ts';
import { pungiArgv } from '../../host/compose/pungi.ts';
import { hostRunner, newStore } from './support.ts';

/**
 * pungi-koji exists only on real compose hosts. What can be checked here: the exact command
 * line against the seed's scripts, and how the operation handles what pungi leaves behind
 * (STATUS, the compose dir), using a stand-in pungi-koji that writes a compose dir the way
 * pungi does. Composing itself with pungi is only exercised on a compose host.
 */
describe('pungi-koji command line (pungi-rocky scripts/produce-8.sh, updates-8-<name>.sh)', () => {
  const composeRoot = '/mnt/compose/8';
  const seedUpdatesFlags = [
    `--old-composes=${composeRoot}`,
    '--skip-phase=buildinstall',
    '--skip-phase=createiso',
    '--skip-phase=extra_isos',
    '--skip-phase=productimg',
    '--production',
    '--no-label',
  ];

  it('produce: --production --label RC-<revision>, nothing skipped, no old composes', () => {
    expect(
      pungiArgv({ kind: 'produce', configFile: '/etc/pungi-prod/r8.conf', composeRoot, revision: '8.7' }),
    ).toEqual([
      'pungi-koji',
      '--config=/etc/pungi-prod/r8.conf',
      `--target-dir=${composeRoot}`,
      '--production',
      '--label',
      'RC-8.7',
      '--no-latest-link',
    ]);
  });

  it('updates: old composes reused, ISO phases skipped, --production --no-label', () => {
    const argv = pungiArgv({
      kind: 'updates',
      configFile: '/etc/pungi-prod/r8-updates.conf',
      composeRoot,
      revision: '8.7',
    });
    expect(argv).toEqual([
      'pungi-koji',
      '--config=/etc/pungi-prod/r8-updates.conf',
      seedUpdatesFlags[0],
      `--target-dir=${composeRoot}`,
      ...seedUpdatesFlags.slice(1),
      '--no-latest-link',
    ]);
  });

  it('per-variant updates (extras): the same flags with its own config', () => {
    const argv = pungiArgv({
      kind: 'updates',
      configFile: '/etc/pungi-prod/r8-extras.conf',
      composeRoot,
      revision: '8.7',
    });
    expect(argv[1]).toBe('--config=/etc/pungi-prod/r8-extras.conf');
    expect(argv.slice(2)).toEqual([
      seedUpdatesFlags[0],
      `--target-dir=${composeRoot}`,
      ...seedUpdatesFlags.slice(1),
      '--no-latest-link',
    ]);
  });

  it('resume: --debug-mode --compose-dir=<existing> instead of --target-dir', () => {
    const dir = `${composeRoot}/Rocky-8-updates-20210721.1`;
    const argv = pungiArgv({
      kind: 'updates',
      configFile: '/etc/pungi-prod/r8-updates.conf',
      composeRoot,
      revision: '8.7',
      resumeDir: dir,
    });
    expect(argv).toContain('--debug-mode');
    expect(argv).toContain(`--compose-dir=${dir}`);
    expect(argv.some((a) => a.startsWith('--target-dir'))).toBe(false);
    expect(argv).toEqual(expect.arrayContaining(seedUpdatesFlags));
  });
});

describe('compose --engine pungi handles what pungi-koji leaves', () => {
  let dir: string;
  let store: PackageStore;
  let bin: string;

  /** Writes a compose dir as pungi does (COMPOSE_ID, STATUS) and exits as pungi would. */
  const standIn = (status: string, code: number) => `#!/bin/sh
set -e
for arg in "$@"; do
  case "$arg" in --target-dir=*) target="\${arg#--target-dir=}" ;; esac
done
echo "$@" > "$target/.pungi-argv"
id="Rocky-8-updates-$(date -u +%Y%m%d).$(ls "$target" | grep -c '^Rocky-8-updates-' || true)"
mkdir -p "$target/$id/compose/metadata"
echo "$id" > "$target/$id/COMPOSE_ID"
echo ${status} > "$target/$id/STATUS"
exit ${code}
`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'releng-pungi-'));
    store = await newStore(dir);
    bin = join(dir, 'bin');
    await mkdir(bin);
    await mkdir(join(dir, 'mnt/compose/8'), { recursive: true });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (status: string, code: number) => {
    await writeFile(join(bin, 'pungi-koji'), standIn(status, code));
    await chmod(join(bin, 'pungi-koji'), 0o755);
    return hostRunner(store, { PATH: `${bin}:${process.env.PATH}` })(
      'compose',
      '--compose',
      'Rocky',
      '--kind',
      'updates',
      '--engine',
      'pungi',
    );
  };

  it('moves latest- after FINISHED and records the sources in the compose', async () => {
    const result = await run('FINISHED', 0);
    expect(result.code, result.stderr).toBe(0);
    expect(result.result.engine).toBe('pungi');
    const id = result.result.composeId as string;
    expect(readlinkSync(join(dir, 'mnt/compose/8/latest-Rocky-8'))).toBe(id);
    const argv = await readFile(join(dir, 'mnt/compose/8/.pungi-argv'), 'utf8');
    expect(argv).toContain('--old-composes=');
    const releng = JSON.parse(
      await readFile(join(dir, 'mnt/compose/8', id, 'compose/metadata/releng.json'), 'utf8'),
    );
    expect(releng.sources.comps.commit).toMatch(/^[a-f0-9]{40}$/);
  });

  it('fails on DOOMED and leaves latest- where it was', async () => {
    const good = readlinkSync(join(dir, 'mnt/compose/8/latest-Rocky-8'));
    const result = await run('DOOMED', 1);
    expect(result.code).toBe(1);
    expect(result.result.error).toMatch(/ended DOOMED; latest-Rocky-8 still points at .*\.0/);
    expect(readlinkSync(join(dir, 'mnt/compose/8/latest-Rocky-8'))).toBe(good);
  });

  it('refuses --engine pungi where pungi-koji is not installed', async () => {
    const result = await hostRunner(store, { PATH: '/usr/bin:/bin' })(
      'compose',
      '--compose',
      'Rocky',
      '--kind',
      'updates',
      '--engine',
      'pungi',
    );
    expect(result.code).toBe(1);
    expect(result.result.error).toBe('--engine pungi: pungi-koji is not on PATH');
  });
});
