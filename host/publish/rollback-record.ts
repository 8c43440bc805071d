import { existsSync } from 'node:fs';
import { link, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { isErrno } from '../../shared/errors.ts';
import { writeFileAtomic } from '../framework/fsutil.ts';
import { namesIn } from './repodata.ts';

/**
 * Where a publish keeps the repodata it replaces: on the production mount but outside the
 * mirror tree (`<production>/.releng/rollback/<8.10>/<digest>/`), so mirrors never see it and
 * the file lists never list it. Files are hard links: rsync and our restores replace files by
 * rename, never in place, so a recorded copy cannot change under us.
 */
export interface RollbackRecord {
  version: 1;
  /** Staging manifest digest the publish carried; one record per digest, so a rerun reuses it. */
  digest: string;
  productionDir: string;
  startedAt: string;
  /** Repodata dirs (relative to the release) recorded before the publish touched them. */
  repos: Array<{ repodata: string; absent: boolean }>;
  completedAt?: string;
  rolledBackAt?: string;
}

export function rollbackRoot(config: ReleaseConfig, root: string, productionDir: string): string {
  return join(root, config.mounts.production, '.releng', 'rollback', productionDir);
}

export class RollbackStore {
  constructor(private readonly dir: string) {}

  recordDir(digest: string): string {
    return join(this.dir, digest);
  }

  /** Root the saved repodata dirs sit under, at their release-relative paths. */
  savedRoot(digest: string): string {
    return join(this.recordDir(digest), 'repos');
  }

  async load(digest: string): Promise<RollbackRecord | undefined> {
    try {
      return JSON.parse(
        await readFile(join(this.recordDir(digest), 'record.json'), 'utf8'),
      ) as RollbackRecord;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
  }

  async save(record: RollbackRecord): Promise<void> {
    await writeFileAtomic(
      join(this.recordDir(record.digest), 'record.json'),
      `${JSON.stringify(record, null, 2)}\n`,
    );
  }

  /** The record of the last publish, as `last.json` names it. */
  async last(): Promise<RollbackRecord | undefined> {
    try {
      const { digest } = JSON.parse(await readFile(join(this.dir, 'last.json'), 'utf8')) as {
        digest: string;
      };
      return this.load(digest);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
  }

  async markLast(digest: string): Promise<void> {
    await writeFileAtomic(join(this.dir, 'last.json'), `${JSON.stringify({ digest })}\n`);
  }

  /** Saved copy of one repodata dir. */
  savedRepodata(digest: string, repodata: string): string {
    return join(this.savedRoot(digest), repodata);
  }

  /**
   * Records a production repodata dir before it changes: linked into a temp dir, renamed into
   * place, then named in record.json. A repodata dir already recorded is kept as it is, so a
   * rerun after a kill never overwrites the true previous state with a half-published one.
   */
  async recordRepodata(record: RollbackRecord, productionRepodata: string, repodata: string): Promise<void> {
    if (record.repos.some((r) => r.repodata === repodata)) return;
    const target = this.savedRepodata(record.digest, repodata);
    const absent = !existsSync(join(productionRepodata, 'repomd.xml'));
    if (!absent) {
      const tmp = `${target}.partial`;
      await rm(tmp, { recursive: true, force: true });
      await mkdir(tmp, { recursive: true });
      for (const name of await namesIn(productionRepodata)) {
        if (name.startsWith('.')) continue;
        await link(join(productionRepodata, name), join(tmp, name));
      }
      await rm(target, { recursive: true, force: true });
      await rename(tmp, target);
    }
    record.repos.push({ repodata, absent });
    await this.save(record);
  }
}
