import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PackageStore } from '../../cli/demo/package-store.ts';
import { buildRpm, generateSigningKey, signRpms } from '../support/rpm.ts';
import { hostRunner, newStore, signedStaging } from './support.ts';

/**
 * verify-staging refuses what must never publish, on a real staged tree: links leading out of
 * the release tree, entries mirrors cannot read, names rsync and the file lists cannot carry,
 * and RPMs not signed by the release key (rpmkeys against a database holding only that key).
 */
describe('verify-staging refuses what must never publish', () => {
  let dir: string;
  let store: PackageStore;
  let host: ReturnType<typeof hostRunner>;
  let category: string;
  let staging: string;
  let unsigned: string;
  const manifest = () => join(dir, 'mnt/repos-staging/.releng/manifests/8.7-RC1.json');

  const verifyFails = async () => {
    await rm(manifest(), { force: true });
    const run = await host('verify-staging');
    expect(run.code, run.stderr).toBe(1);
    expect(existsSync(manifest())).toBe(false);
    return run.result.error ?? '';
  };
  const verifyPasses = async () => {
    const run = await host('verify-staging');
    expect(run.result.error ?? '', run.stderr).toBe('');
    expect(run.code).toBe(0);
    return run;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'releng-verify-safety-'));
    store = await newStore(dir);
    host = hostRunner(store);
    category = join(dir, 'mnt/repos-staging/mirror/pub/rocky');
    staging = await signedStaging(host, dir);
    const built = await buildRpm({ name: 'demo-rogue', version: '1', release: '1', arch: 'noarch' }, dir);
    unsigned = built.binaries[0]!;
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('passes the normal staged tree, with the seed links beside the release, and rechecks only what changed', async () => {
    // The seed's links beside the releases are outside the release tree verify checks.
    await symlink('8.7-RC1', join(category, 'latest-8'));
    await symlink('8.7-RC1', join(category, '8'));
    const first = await verifyPasses();
    const checked = /package signatures: ([0-9]+) of ([0-9]+) RPMs checked/.exec(first.stderr);
    expect(Number(checked![1])).toBeGreaterThan(0);
    expect(checked![1]).toBe(checked![2]);
    // Nothing changed: no package is read again.
    const second = await verifyPasses();
    expect(second.stderr).toContain(`package signatures: 0 of ${checked![2]} RPMs checked`);
  });

  it('refuses symlinks that are absolute or lead out of the release tree, naming each', async () => {
    const os = join(staging, 'BaseOS/x86_64/os');
    const links: Array<[string, string]> = [
      ['/etc/shadow', join(os, 'Packages/shadow')],
      ['../../../../etc', join(os, 'etc')],
      ['../../..', join(os, 'top')], // the release root: inside, allowed
      ['top/..', join(os, 'through')], // lexically inside, but top climbs to the root first
      ['../repodata/repomd.xml', join(os, 'Packages/metadata')], // inside, allowed
      ['loop-b', join(os, 'loop-a')],
      ['loop-a', join(os, 'loop-b')],
    ];
    for (const [target, link] of links) await symlink(target, link);
    try {
      const error = await verifyFails();
      expect(error).toContain('"BaseOS/x86_64/os/Packages/shadow" -> "/etc/shadow": symlink is absolute');
      expect(error).toContain(
        '"BaseOS/x86_64/os/etc" -> "../../../../etc": symlink resolves outside the release tree',
      );
      expect(error).toContain('"BaseOS/x86_64/os/through" -> "top/..": symlink resolves outside');
      expect(error).toContain('"BaseOS/x86_64/os/loop-a" -> "loop-b": symlink loops (more than 40 links)');
      expect(error).not.toContain('"BaseOS/x86_64/os/top"');
      expect(error).not.toContain('Packages/metadata');
    } finally {
      for (const [, link] of links) await rm(link);
    }
    await verifyPasses();
  });

  it('refuses files and directories mirrors cannot read, naming them', async () => {
    const os = join(staging, 'AppStream/x86_64/os');
    const comps = (await readdir(join(os, 'repodata'))).find((f) => f.endsWith('.xml'))!;
    const dirMode = join(os, 'Packages');
    await chmod(join(os, 'repodata', comps), 0o000);
    await chmod(dirMode, 0o750);
    try {
      const error = await verifyFails();
      expect(error).toContain(
        `"AppStream/x86_64/os/repodata/${comps}": mode 0000, not readable by others, so mirrors cannot read it`,
      );
      expect(error).toContain(
        '"AppStream/x86_64/os/Packages"/: directory mode 0750, not r-x for others, so mirrors cannot list it',
      );
    } finally {
      await chmod(join(os, 'repodata', comps), 0o644);
      await chmod(dirMode, 0o755);
    }
  });

  it('refuses names with a tab, a newline, a control character or non-ASCII bytes, shown escaped', async () => {
    const os = join(staging, 'BaseOS/x86_64/os');
    const names = ['tab\tname', 'new\nline', 'bell\x07', 'café'];
    for (const name of names) await writeFile(join(os, name), 'x');
    const rawByte = Buffer.concat([Buffer.from(`${os}/latin1-`), Buffer.from([0xff])]);
    await writeFile(rawByte, 'x');
    try {
      const error = await verifyFails();
      const why = "rsync's itemized output and the tab-separated file lists cannot carry it";
      expect(error).toContain(`"BaseOS/x86_64/os/tab\\tname": name holds a tab; ${why}`);
      expect(error).toContain(`"BaseOS/x86_64/os/new\\nline": name holds a newline; ${why}`);
      expect(error).toContain(`"BaseOS/x86_64/os/bell\\u0007": name holds a control character; ${why}`);
      expect(error).toContain(`"BaseOS/x86_64/os/caf\\u00e9": name holds a non-ASCII byte; ${why}`);
      expect(error).toMatch(/"BaseOS\/x86_64\/os\/latin1-\\ufffd": name holds a non-ASCII byte/);
    } finally {
      for (const name of names) await rm(join(os, name));
      await rm(rawByte);
    }
    await verifyPasses();
  });

  it('refuses an unsigned RPM, one signed by another key, and a signed one replaced in place', async () => {
    const packages = join(staging, 'BaseOS/x86_64/os/Packages/d');
    await mkdir(packages, { recursive: true });
    const other = await generateSigningKey(join(dir, 'other-gnupg'), 'Other <other@rocky.invalid>');
    const foreign = join(dir, 'demo-foreign-1-1.noarch.rpm');
    await copyFile(unsigned, foreign);
    await signRpms(other, [foreign]);
    const victim = (await readdir(packages)).find((f) => f.endsWith('.rpm'))!;
    const original = join(dir, 'original.rpm');
    await copyFile(join(packages, victim), original);

    await copyFile(unsigned, join(packages, 'demo-rogue-1-1.noarch.rpm'));
    await copyFile(foreign, join(packages, 'demo-foreign-1-1.noarch.rpm'));
    await copyFile(unsigned, join(packages, victim)); // same path, passed before: rechecked
    try {
      const error = await verifyFails();
      const keyId = store.key.keyId;
      expect(error).toContain('BaseOS/x86_64/os/Packages/d/demo-rogue-1-1.noarch.rpm: is not signed');
      expect(error).toContain(
        `BaseOS/x86_64/os/Packages/d/demo-foreign-1-1.noarch.rpm: is not signed by key ${keyId}`,
      );
      expect(error).toContain(`BaseOS/x86_64/os/Packages/d/${victim}: is not signed`);
    } finally {
      await rm(join(packages, 'demo-rogue-1-1.noarch.rpm'));
      await rm(join(packages, 'demo-foreign-1-1.noarch.rpm'));
      await copyFile(original, join(packages, victim));
    }
    const after = await verifyPasses();
    expect(after.stderr).toContain('package signatures: 1 of');
  });
});
