import { spawn } from 'node:child_process';
import { lstat, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from '../../host/framework/exec.ts';

/**
 * An rsync daemon on 127.0.0.1 serving `dir`, the way msync serves mirrors. Its module name is
 * its own, so a port another test's daemon holds is never mistaken for this one.
 */
export async function withRsyncDaemon<T>(
  workDir: string,
  dir: string,
  fn: (url: string) => Promise<T>,
): Promise<T> {
  // A port another process holds makes the daemon exit at once: then another port.
  for (let attempt = 0; ; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const module = `pub-${process.pid}-${port}`;
    const conf = join(workDir, 'rsyncd.conf');
    await writeFile(
      conf,
      [
        `pid file = ${join(workDir, 'rsyncd.pid')}`,
        `lock file = ${join(workDir, 'rsyncd.lock')}`,
        `log file = ${join(workDir, 'rsyncd.log')}`,
        'use chroot = no',
        `[${module}]`,
        `path = ${dir}`,
        'read only = yes',
        'list = yes',
        '',
      ].join('\n'),
    );
    const daemon = spawn(
      'rsync',
      ['--daemon', '--no-detach', `--config=${conf}`, '--address=127.0.0.1', `--port=${port}`],
      { stdio: 'ignore' },
    );
    let exited = false;
    daemon.on('exit', () => {
      exited = true;
    });
    try {
      const url = `rsync://127.0.0.1:${port}/${module}/`;
      // Up to 30 s: on a loaded 2-core machine the daemon can take seconds to listen.
      let ready = false;
      for (let i = 0; !exited && !ready; i++) {
        try {
          const { stdout } = await execFile(['rsync', `rsync://127.0.0.1:${port}/`]);
          if (!stdout.split(/\s/).includes(module)) throw new Error(`port ${port} serves another daemon`);
          ready = true;
        } catch (err) {
          if (i > 300 || (err instanceof Error && err.message.includes('serves another daemon'))) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      if (ready) return await fn(url);
      if (attempt >= 5)
        throw new Error(`rsync --daemon exited at once on 5 ports (see ${workDir}/rsyncd.log)`);
    } finally {
      daemon.kill();
    }
  }
}

export interface TimeListEntry {
  mtime: number;
  type: string;
  size: number;
  path: string;
}

/** Reads a quick-fedora-mirror time list the way a client does, checking its sections. */
export async function readTimeList(
  path: string,
): Promise<{ files: TimeListEntry[]; sha1: Map<string, string> }> {
  const lines = (await readFile(path, 'utf8')).split('\n');
  if (lines[0] !== '[Version]' || lines[1] !== '2') throw new Error(`${path}: no [Version] 2 header`);
  if (lines.at(-2) !== '[End]') throw new Error(`${path}: no [End]: truncated`);
  const files: TimeListEntry[] = [];
  const sha1 = new Map<string, string>();
  let section = '';
  for (const line of lines.slice(2)) {
    if (/^\[.*\]$/.test(line)) section = line;
    else if (!line) continue;
    else if (section === '[Files]') {
      const [mtime, type, size, file] = line.split('\t');
      files.push({ mtime: Number(mtime), type: type!, size: Number(size), path: file! });
    } else if (section === '[Checksums SHA1]') {
      const [sum, file] = line.split('\t');
      sha1.set(file!, sum!);
    }
  }
  return { files, sha1 };
}

/** Entries of a mirrored copy that disagree with the time list (missing, other size or mtime). */
export async function mismatches(mirror: string, files: TimeListEntry[]): Promise<string[]> {
  const bad: string[] = [];
  for (const entry of files) {
    const info = await lstat(join(mirror, entry.path)).catch(() => undefined);
    if (!info) bad.push(`${entry.path}: missing`);
    else if (
      entry.type === 'd' ? !info.isDirectory() : entry.type === 'l' ? !info.isSymbolicLink() : !info.isFile()
    )
      bad.push(`${entry.path}: not of type ${entry.type}`);
    else if (
      entry.type !== 'd' &&
      (info.size !== entry.size || Math.floor(info.mtimeMs / 1000) !== entry.mtime)
    )
      bad.push(
        `${entry.path}: size ${info.size} mtime ${Math.floor(info.mtimeMs / 1000)} vs ${entry.size} ${entry.mtime}`,
      );
  }
  return bad;
}
