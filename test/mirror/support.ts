import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const RELENG = join(import.meta.dirname, '..', '..', 'bin', 'releng.mjs');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  killed: boolean;
  /** The last progress line before the kill: the stage it landed in. */
  lastLine: string;
}

/**
 * Runs `releng ARGS` in its own process group; with `killAfterMs` the whole group (rsync
 * included) is SIGKILLed that long after its first progress line (so the kill lands in the
 * work, not in Node's start-up), as a mirror host's reboot or an OOM kill would.
 */
export function releng(args: string[], killAfterMs?: number): Promise<CliRun> {
  const child = spawn(process.execPath, [RELENG, ...args], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let killed = false;
  let lastLine = '';
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    if (killAfterMs === undefined || timer) return;
    timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
        killed = true;
      } catch {
        // already gone
      }
    }, killAfterMs);
  };
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    const lines = d
      .toString()
      .split('\n')
      .filter((l) => l.startsWith('[mirror-pull]'));
    if (lines.length && !killed) lastLine = lines.at(-1)!;
    if (lines.length) arm();
  });
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, killed: killed && code === null, lastLine });
    }),
  );
}
