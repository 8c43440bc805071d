import { spawn } from 'node:child_process';

/**
 * quick-fedora-mirror's create-filelist, in modules: the list format and line rules
 * (format.ts), the temp lists written and hashed on the way (list-draft.ts), a full walk with
 * find (walk.ts), the previous list read back (list-reader.ts) and the commit that renames the
 * lists into place (commit.ts), re-exported here. This module itself holds the one process the
 * file lists start: find, streamed.
 */
export { type CommitOptions, commitLists, type ListDigests } from './commit.ts';
export * from './format.ts';
export { ListDraft, type ListFacts } from './list-draft.ts';
export { fullWalk } from './walk.ts';

/**
 * Streams `find`'s NUL-terminated records (any file name is safe) through a callback, run in
 * `cwd`. find is the fastest walker on the machine and keeps our memory flat.
 */
export async function findRecords(
  cwd: string,
  args: string[],
  onRecord: (record: string) => void,
): Promise<void> {
  // The C locale: byte-wise name matching and a '.' in %T@ whatever the host's locale.
  const child = spawn('find', args, {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LC_ALL: 'C' },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
  // Split on NUL bytes before decoding, so a multi-byte character cut by a chunk stays whole.
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    const data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const end = data.lastIndexOf(0);
    if (end < 0) {
      carry = data;
      continue;
    }
    const records = data.toString('utf8', 0, end).split('\0');
    carry = data.subarray(end + 1);
    for (const record of records) onRecord(record);
  }
  const code = await exited;
  if (code !== 0)
    throw new Error(`find in ${cwd} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
}
