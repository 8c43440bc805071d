import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../host/framework/fsutil.ts';
import { errorMessage, isErrno } from '../../shared/errors.ts';
import { withFileMutex } from '../engine/file-mutex.ts';

/**
 * One JSON document on disk, updated read-modify-write under the engine's cross-process file
 * mutex and rewritten atomically (temp file, fsync, rename): a crash leaves the old or the new
 * document, and two `releng` processes never lose each other's updates.
 */
export class JsonStore<T> {
  constructor(
    readonly file: string,
    private readonly empty: () => T,
  ) {}

  async read(): Promise<T> {
    try {
      return JSON.parse(await readFile(this.file, 'utf8')) as T;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return this.empty();
      throw new Error(`${this.file}: ${errorMessage(err)}`);
    }
  }

  /** Runs `change` on the current document (mutating it in place) and saves the result. */
  update<R>(change: (data: T) => R | Promise<R>): Promise<R> {
    return withFileMutex(this.file, async () => {
      const data = await this.read();
      const result = await change(data);
      await writeFileAtomic(this.file, `${JSON.stringify(data, null, 1)}\n`);
      return result;
    });
  }
}
