import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mtimeSeconds, wholeSeconds } from '../../host/filelist/create-filelist.ts';
import { execFile } from '../../host/framework/exec.ts';
import { FileLocks, lockDir } from '../../host/framework/locks.ts';
import { fileLists } from '../../host/operations/file-lists.ts';
import { buildConfig } from '../../shared/config/load.ts';
import { PUBLISH_LOCK } from '../../shared/lanes.ts';
import { runOperation } from './run.ts';

let root: string;
let pub: string;

const line = (rel: string, base: string) => {
  const info = lstatSync(join(base, rel));
  const type = info.isSymbolicLink() ? 'l' : info.isDirectory() ? 'd' : 'f';
  return `${Math.floor(info.mtimeMs / 1000)}\t${type}\t${info.size}\t${rel}`;
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'releng-filelists-'));
  pub = join(root, 'mnt/repos-production/mirror/pub');
  await mkdir(join(pub, 'rocky/8.10/BaseOS/x86_64/os/repodata'), { recursive: true });
  await writeFile(join(pub, 'rocky/8.10/BaseOS/x86_64/os/repodata/repomd.xml'), '<repomd>one</repomd>\n');
  await writeFile(join(pub, 'rocky/8.10/COMPOSE_ID'), 'Rocky-8-20260101.0\n');
  await symlink('8.10', join(pub, 'rocky/8'));
  await mkdir(join(pub, 'sig/8/kernel'), { recursive: true });
  await writeFile(join(pub, 'sig/8/kernel/README'), 'kernel sig\n');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('file-lists', () => {
  it('plans and writes nothing in a dry run', async () => {
    const { ctx } = await runOperation(fileLists, root, ['--dry-run']);
    expect(ctx.plan.join('\n')).toContain('write file lists of category');
    expect(() => statSync(join(pub, 'rocky/fullfiletimelist-rocky'))).toThrow();
  });

  it("writes create-filelist's format for the category, the root and the SIG tree", async () => {
    await runOperation(fileLists, root, []);
    const category = join(pub, 'rocky');
    const sha1 = createHash('sha1').update('<repomd>one</repomd>\n').digest('hex');
    const entries = [
      '8.10',
      '8.10/BaseOS',
      '8.10/BaseOS/x86_64',
      '8.10/BaseOS/x86_64/os',
      '8.10/BaseOS/x86_64/os/repodata',
      '8.10/BaseOS/x86_64/os/repodata/repomd.xml',
      '8.10/COMPOSE_ID',
      '8',
    ];
    const list = readFileSync(join(category, 'fullfiletimelist-rocky'), 'utf8');
    const [head, files, tail] = [
      list.slice(0, 21),
      list.slice(21, list.indexOf('\n\n[Checksums')),
      list.slice(list.indexOf('\n\n[Checksums')),
    ];
    expect(head).toBe('[Version]\n2\n\n[Files]\n');
    expect(files.split('\n').sort()).toEqual(entries.map((e) => line(e, category)).sort());
    // The image list (empty here: no images) is named with its SHA-1, as create-filelist does.
    const images = createHash('sha1').update('').digest('hex');
    expect(readFileSync(join(category, 'imagelist-rocky'), 'utf8')).toBe('');
    expect(tail).toBe(
      `\n\n[Checksums SHA1]\n${sha1}\t8.10/BaseOS/x86_64/os/repodata/repomd.xml\n${images}\timagelist-rocky\n\n[End]\n`,
    );
    expect(readFileSync(join(category, 'fullfilelist'), 'utf8').split('\n').filter(Boolean).sort()).toEqual(
      [...entries].sort(),
    );
    for (const copy of ['fullfiletimelist', 'fullfiletimelist-rocky-linux'])
      expect(readFileSync(join(category, copy), 'utf8')).toBe(list);
    // The root lists the whole pub tree, but never any list file itself.
    const rootList = readFileSync(join(pub, 'fullfiletimelist-rocky'), 'utf8');
    expect(rootList).toContain('\trocky/8.10/COMPOSE_ID\n');
    expect(rootList).toContain('\tsig/8/kernel/README\n');
    expect(rootList).not.toMatch(/\t[^\n]*fullfile/);
    expect(readFileSync(join(pub, 'sig/fullfiletimelist-sig'), 'utf8')).toContain(
      `\t${'kernel sig\n'.length}\t8/kernel/README\n`,
    );
  });

  it('replaces a list by rename, keeping the previous one as -old; a reader of the old one reads it whole', async () => {
    const category = join(pub, 'rocky');
    const before = readFileSync(join(category, 'fullfiletimelist-rocky'), 'utf8');
    const reader = await open(join(category, 'fullfiletimelist-rocky'));
    await writeFile(join(pub, 'rocky/8.10/BaseOS/x86_64/os/repodata/repomd.xml'), '<repomd>two</repomd>\n');
    await runOperation(fileLists, root, []);
    expect((await reader.readFile('utf8')) === before).toBe(true);
    await reader.close();
    expect(readFileSync(join(category, 'fullfiletimelist-rocky-old'), 'utf8')).toBe(before);
    const after = readFileSync(join(category, 'fullfiletimelist-rocky'), 'utf8');
    expect(after).toContain(createHash('sha1').update('<repomd>two</repomd>\n').digest('hex'));
  });

  it('refuses while a production publish holds the publish lock', async () => {
    const config = buildConfig();
    const locks = new FileLocks(lockDir(config, root), { now: () => new Date() });
    await locks.acquire(PUBLISH_LOCK, 'sync-to-prod:elsewhere', 600);
    try {
      await expect(runOperation(fileLists, root, [])).rejects.toThrow(
        /file-lists refused: a production publish is running \(lock publish is held by sync-to-prod:elsewhere/,
      );
    } finally {
      await locks.release(PUBLISH_LOCK, 'sync-to-prod:elsewhere');
    }
  });
});

describe('mtime in whole seconds, as create-filelist writes it', () => {
  it.each([
    ['1764240000.1234567890', '1764240000'],
    ['1764240000.0000000000', '1764240000'],
    ['1764240000', '1764240000'],
    // before 1970 st_mtime's seconds are floored: -5.5 s is second -6
    ['-5.5000000000', '-6'],
    ['-5.0000000000', '-5'],
  ])('%s -> %s', (stamp, seconds) => {
    expect(wholeSeconds(stamp)).toBe(seconds);
  });
});

describe('mtime in whole seconds from a plain lstat, as the incremental run reads it', () => {
  // mtimeMs is a double: 1764240000.999999999 s rounds to 1764240001000 ms.
  it.each([
    ['1764240000.999999999', 1764240000],
    ['1764240001', 1764240001],
    ['1764240000.5', 1764240000],
    ['-5.5', -6],
  ])('touched to @%s -> %s', async (stamp, seconds) => {
    const file = join(root, `mtime-${stamp}`);
    await writeFile(file, '');
    await execFile(['touch', '-h', '-d', `@${stamp}`, file]);
    expect(Number(mtimeSeconds(lstatSync(file), file))).toBe(seconds);
  });
});
