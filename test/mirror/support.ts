import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const RELENG = join(import.meta.dirname, '..', '..', 'bin', 'releng.mjs');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  killed: boolean;
}

/**
 * Runs `releng ARGS` in its own process group; with `killAfterMs` the whole group (rsync
 * included) is SIGKILLed then, as a mirror host's reboot or an OOM kill would.
 */
export function releng(args: string[], killAfterMs?: number): Promise<CliRun> {
  const child = spawn(process.execPath, [RELENG, ...args], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let killed = false;
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer =
    killAfterMs === undefined
      ? undefined
      : setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
            killed = true;
          } catch {
            // already gone
          }
        }, killAfterMs);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, killed: killed && code === null });
    }),
  );
}
