import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPackageStore, type PackageStore, tagUpdate } from '../../cli/demo/package-store.ts';
import { hostRunner } from './support.ts';

/**
 * Rocky 9's staging sync deletes, as the 9 SOP's sync-to-staging.delete.sh does: what a newer
 * compose no longer has goes from the synced `<Variant>/<arch>` units. What staging itself put
 * inside them (the frozen kickstart, the pristine treeinfo) stays, and nothing outside the
 * synced units is touched. Rocky 8 keeps older packages (no delete), covered in sync.test.ts.
 */
describe('sync-to-staging for Rocky 9 deletes inside the synced units only', () => {
  let dir: string;
  let store: PackageStore;
  let host: ReturnType<typeof hostRunner>;
  const staging = () => join(dir, 'mnt/repos-staging/mirror/pub/rocky/9.1-RC4');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'releng-sync9-'));
    store = await createPackageStore({ root: dir, major: '9' });
    host = hostRunner(store);
  }, 120_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('removes a package the new compose dropped, keeps kickstart, pristine treeinfo and other trees', async () => {
    for (const args of [
      ['compose', '--compose', 'Rocky', '--kind', 'updates'],
      ['sync-to-staging', '--compose', 'Rocky'],
    ]) {
      const run = await host(args[0]!, ...args.slice(1));
      expect(run.code, run.stderr).toBe(0);
    }
    const os = join(staging(), 'BaseOS/x86_64/os');
    const stale = join(os, 'Packages/d/demo-gone-0.9-1.el9.noarch.rpm');
    const kickstart = join(staging(), 'BaseOS/x86_64/kickstart/repodata/repomd.xml');
    const pristine = join(os, '.treeinfo-pristine');
    const isos = join(staging(), 'isos/x86_64/Rocky-9.1-x86_64-dvd.iso');
    const otherRepo = join(staging(), 'SAP/x86_64/os/Packages/s/sap-demo-1-1.el9.noarch.rpm');
    for (const file of [stale, kickstart, pristine, isos, otherRepo]) {
      await mkdir(join(file, '..'), { recursive: true });
      await writeFile(file, 'staged earlier\n');
    }

    await tagUpdate(store);
    const compose = await host('compose', '--compose', 'Rocky', '--kind', 'updates');
    expect(compose.code, compose.stderr).toBe(0);
    const sync = await host('sync-to-staging', '--compose', 'Rocky');
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.result.composeId).toBe(compose.result.composeId);

    expect(existsSync(stale)).toBe(false);
    for (const kept of [kickstart, pristine, isos, otherRepo]) expect(existsSync(kept), kept).toBe(true);
    // The new compose's packages and repodata arrived.
    expect(existsSync(join(os, 'Packages/d/demo-hello-1.1-1.el9.noarch.rpm'))).toBe(true);
    expect(existsSync(join(os, 'repodata/repomd.xml'))).toBe(true);
  }, 120_000);
});
