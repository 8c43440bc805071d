import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  openSync,
  readSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from '../../host/framework/exec.ts';
import { sha256File } from '../../host/framework/fsutil.ts';
import { syncToProd } from '../../host/operations/sync-to-prod.ts';
import { loadVerified, recordVerified } from '../../host/publish/verified.ts';
import { computeStagedContent, contentDigest, writeHashCache } from '../../host/repo/manifest.ts';
import { generateSigningKey } from '../support/rpm.ts';
import {
  approveStaged,
  buildPackages,
  keyOverrides,
  noarch,
  type PackageSet,
  publishArgs,
  repomdProblems,
  signRepomd,
  stagedDigest,
  testRelease,
  writeRepo,
} from './fixtures.ts';
import { runOperation } from './run.ts';

/**
 * What sync-to-prod may trust, against someone who can write to the staging mount (issue 13,
 * items 1, 2, 3), and that nothing partial ever sits under a published path (item 10).
 */

let work: string;
let root: string;
let set: PackageSet;
const at = (r = root) => testRelease(r).paths;
const REPO = 'BaseOS/x86_64/os';
const RPM = `${REPO}/Packages/h/hello-1.0-1.noarch.rpm`;

const publish = (digest: string, r = root, onProgress?: (line: string) => void) =>
  runOperation(syncToProd, r, publishArgs(digest), keyOverrides(set), onProgress);

/** Every file under `dir` with its size and mtime, to show production did not move. */
async function snapshot(dir: string): Promise<string> {
  const { stdout } = await execFile(['find', '.', '-printf', '%P %y %s %T@\n'], { cwd: dir });
  return stdout.split('\n').sort().join('\n');
}

/** Overwrites one byte of `file` in place (same size): what a hostile staging writer does. */
function flipByte(file: string, offset: number): void {
  const fd = openSync(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, offset);
    byte[0] = byte[0]! ^ 0xff;
    writeSync(fd, byte, 0, 1, offset);
  } finally {
    closeSync(fd);
  }
}

/** A new revision of staging: a new image (to copy) and the repo's metadata made again. */
async function stageRevision(n: number, imageBytes = 1024 * 1024): Promise<void> {
  const staging = at().stagingRelease;
  await mkdir(join(staging, 'images'), { recursive: true });
  await writeFile(join(staging, 'images', `cloud-${n}.img`), randomBytes(imageBytes));
  await writeRepo(
    set,
    join(staging, REPO),
    n % 2 ? ['hello-1.0-1.noarch', 'tools-1.0-1.noarch'] : ['hello-1.0-1.noarch'],
  );
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'releng-trust-'));
  root = join(work, 'root');
  set = await buildPackages(work, [noarch('hello', '1.0'), noarch('tools', '1.0')]);
  await stageRevision(0);
  await publish(await approveStaged(root, set));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('item 1: the hash cache is out of a staging writer’s reach', () => {
  it('refuses an approved RPM flipped in place whose staging cache entry was forged, naming it', async () => {
    await stageRevision(1);
    const digest = await approveStaged(root, set);
    const staged = join(at().stagingRelease, RPM);
    const approvedSha = await sha256File(staged);
    const size = (await stat(staged)).size;
    flipByte(staged, Math.floor(size / 2));
    expect((await stat(staged)).size).toBe(size);
    // The attacker rewrites the cache where staging writers find it (the staging mount's
    // .releng), with the file's new inode facts and the approved sha256.
    const forged = await computeStagedContent(at().stagingRelease);
    forged.cache.set(RPM, { ...forged.cache.get(RPM)!, sha256: approvedSha });
    const stagingCache = join(
      at().staging,
      '.releng',
      'hash-cache',
      `${testRelease(root).release.stagingDirName}.hashes`,
    );
    await writeHashCache(stagingCache, forged.cache);

    const before = await snapshot(at().productionRelease);
    await expect(publish(digest)).rejects.toThrow(`${RPM} (changed since verification)`);
    expect(await snapshot(at().productionRelease)).toBe(before);
    flipByte(staged, Math.floor(size / 2));
  });
});

describe('item 2: bytes changed after the digest check never become reachable', () => {
  it.each([2, 3, 4, 5, 6])(
    'trial %i: an image rewritten as the packages pass starts is refused before the metadata pass',
    async (n) => {
      await stageRevision(n, 8 * 1024 * 1024);
      const digest = await approveStaged(root, set);
      const image = join(at().stagingRelease, 'images', `cloud-${n}.img`);
      const repodata = join(at().productionRelease, REPO, 'repodata');
      const metadataBefore = await snapshot(repodata);
      let rewritten = false;
      const run = publish(digest, root, (line) => {
        // Between the digest check and rsync reading the file: a write at its very end.
        if (
          !rewritten &&
          line.includes('$ rsync') &&
          line.includes('--files-from') &&
          !line.includes('--dry-run')
        ) {
          flipByte(image, 8 * 1024 * 1024 - 1);
          rewritten = true;
        }
      });
      await expect(run).rejects.toThrow(
        new RegExp(
          `staging changed during the copy: images/cloud-${n}\\.img has sha256 [0-9a-f]{64}, verified`,
        ),
      );
      expect(rewritten).toBe(true);
      // The metadata pass never ran, and the changed copy is gone from production.
      expect(await snapshot(repodata)).toBe(metadataBefore);
      expect(existsSync(join(at().productionRelease, 'images', `cloud-${n}.img`))).toBe(false);
      expect(await repomdProblems(at().productionRelease, set.key)).toEqual([]);
    },
  );
});

describe('item 2: links and compose info are checked too, each before it lands', () => {
  const rewriteDuringMetadata = (change: () => void) => {
    let done = false;
    return (line: string) => {
      if (!done && line.includes('record the repodata')) {
        change();
        done = true;
      }
    };
  };

  it('refuses a top-level link retargeted after the digest check', async () => {
    await stageRevision(9);
    const link = join(at().stagingRelease, 'latest');
    await symlink('BaseOS', link);
    const digest = await approveStaged(root, set);
    const run = publish(
      digest,
      root,
      rewriteDuringMetadata(() => {
        unlinkSync(link);
        symlinkSync('/etc', link);
      }),
    );
    await expect(run).rejects.toThrow(`${link} -> /etc changed during the publish: verified BaseOS`);
    expect(existsSync(join(at().productionRelease, 'latest'))).toBe(false);
    await rm(link);
  });

  it('refuses COMPOSE_ID rewritten after the digest check, leaving the published one', async () => {
    await writeFile(join(at().stagingRelease, 'COMPOSE_ID'), 'Rocky-8-20260101.0\n');
    await publish(await approveStaged(root, set));
    // createrepo_c stamps repomd.xml in whole seconds: a new second makes a new repomd.xml.
    await new Promise((r) => setTimeout(r, 1100));
    await stageRevision(10);
    await writeFile(join(at().stagingRelease, 'COMPOSE_ID'), 'Rocky-8-20260102.0\n');
    const digest = await approveStaged(root, set);
    const composeId = join(at().stagingRelease, 'COMPOSE_ID');
    const run = publish(
      digest,
      root,
      rewriteDuringMetadata(() => writeFileSync(composeId, 'Rocky-8-forged.0\n')),
    );
    await expect(run).rejects.toThrow(`${composeId} changed during the copy`);
    expect(await readFile(join(at().productionRelease, 'COMPOSE_ID'), 'utf8')).toBe('Rocky-8-20260101.0\n');
  });
});

describe('item 3: only what verify-staging passed, signed by the configured key, publishes', () => {
  it('refuses a digest whose only manifest was forged on staging', async () => {
    await stageRevision(7);
    await writeFile(join(at().stagingRelease, 'images', 'unverified.img'), 'not verified\n');
    const digest = await stagedDigest(at().stagingRelease);
    const manifests = join(at().staging, '.releng', 'manifests');
    await mkdir(manifests, { recursive: true });
    const stagingDir = testRelease(root).release.stagingDirName;
    await writeFile(
      join(manifests, `${stagingDir}.json`),
      JSON.stringify({ version: 1, digest, repoclosure: 'passed' }),
    );
    await writeFile(join(manifests, `${stagingDir}.sha256`), `${digest}  ${stagingDir}.json\n`);
    const before = await snapshot(at().productionRelease);
    await expect(publish(digest)).rejects.toThrow(
      `sync-to-prod refused: digest ${digest} has no passing verify-staging on this host`,
    );
    expect(await snapshot(at().productionRelease)).toBe(before);
    await rm(join(at().stagingRelease, 'images', 'unverified.img'));
  });

  it('refuses a repomd re-signed by another key, handed its digest, with or without a record', async () => {
    await stageRevision(8);
    const other = await generateSigningKey(join(work, 'other-gnupg'), 'Other <other@rocky.invalid>');
    await signRepomd(other, join(at().stagingRelease, REPO));
    const digest = await stagedDigest(at().stagingRelease);
    const before = await snapshot(at().productionRelease);
    await expect(publish(digest)).rejects.toThrow('has no passing verify-staging on this host');
    // Even with a record of that digest (verified under another configured key, say), the
    // signatures are checked against the release key again.
    expect(await approveStaged(root, set)).toBe(digest);
    await expect(publish(digest)).rejects.toThrow(
      `repomd.xml.asc of ${REPO} does not verify with the release key ${set.key.keyId}`,
    );
    expect(await snapshot(at().productionRelease)).toBe(before);
    await signRepomd(set.key, join(at().stagingRelease, REPO));
    await publish(await approveStaged(root, set));
    expect(await repomdProblems(at().productionRelease, set.key)).toEqual([]);
  });
});

describe('the verified records', () => {
  it('are host-local, readable by root alone, and only the newest 5 per staging dir are kept', async () => {
    const host = join(work, 'records');
    const digests: string[] = [];
    for (let i = 0; i < 7; i++) {
      const files = [{ path: `f${i}`, size: 1, sha256: 'a'.repeat(64) }];
      const digest = contentDigest({ files, symlinks: [] });
      const file = await recordVerified(host, {
        version: 1,
        result: 'passed',
        digest,
        major: '8',
        channel: 'stable',
        revision: '8.10',
        stagingDir: '8.10-RC1',
        signingKeyId: set.key.keyId,
        verifiedAt: new Date().toISOString(),
        files,
        symlinks: [],
      });
      expect(file.startsWith(join(host, 'var', 'lib', 'releng', 'verified', '8.10-RC1'))).toBe(true);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      digests.push(digest);
      await new Promise((r) => setTimeout(r, 20));
    }
    const kept = await Promise.all(
      digests.map(async (d) => 'record' in (await loadVerified(host, '8.10-RC1', d))),
    );
    expect(kept).toEqual([false, false, true, true, true, true, true]);
    expect('missing' in (await loadVerified(host, '8.11-RC1', digests[6]!))).toBe(true);
  });
});

describe('item 10: nothing partial under a published path', () => {
  let full: string;
  let mounted = false;
  afterAll(async () => {
    if (mounted) await execFile(['umount', at(full).production]);
  });

  it('runs out of space in the metadata pass: no .~tmp~, no partial or empty file in the tree', async () => {
    full = join(work, 'full');
    const { paths } = testRelease(full);
    await mkdir(paths.production, { recursive: true });
    await execFile(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', paths.production]);
    mounted = true;
    await writeRepo(set, join(paths.stagingRelease, REPO), ['hello-1.0-1.noarch', 'tools-1.0-1.noarch']);
    // More metadata than the production file system holds.
    await writeFile(
      join(paths.stagingRelease, REPO, 'repodata', 'zz-large.xml.gz'),
      randomBytes(3 * 1024 * 1024),
    );
    await expect(publish(await approveStaged(full, set), full)).rejects.toThrow(/rsync|ENOSPC|No space/);

    // The packages pass finished: the failure was in the metadata pass.
    expect(existsSync(join(paths.productionRelease, RPM))).toBe(true);
    const { stdout } = await execFile(['find', paths.productionRelease, '-printf', '%P\t%y\t%s\n']);
    const entries = stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t') as [string, string, string]);
    expect(entries.filter(([p]) => p.split('/').some((seg) => seg.startsWith('.'))).map(([p]) => p)).toEqual(
      [],
    );
    for (const [path, type] of entries) {
      if (type !== 'f') continue;
      const staged = await readFile(join(paths.stagingRelease, path));
      expect(await readFile(join(paths.productionRelease, path)), path).toEqual(staged);
    }
    expect(existsSync(join(paths.productionRelease, REPO, 'repodata', 'repomd.xml.asc'))).toBe(false);
  });
});
