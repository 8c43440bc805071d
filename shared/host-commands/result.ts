import type { HostCommandInvocation } from '../ports.ts';

/** Longest failure line carried into an execution's error cause. */
const MAX_LINE = 400;

const oneLine = (text: string) => {
  const line = text.replace(/[\p{Cc}\p{Cf}]+/gu, ' ').trim();
  return line.length > MAX_LINE ? `${line.slice(0, MAX_LINE - 3)}...` : line;
};

/**
 * releng-host's result: the last stdout line that parses as a JSON object. releng-host keeps
 * that line under 4 KB, so it is always inside the 24,000 characters SSM returns.
 */
export function parseHostResult(stdout: string): Record<string, unknown> | undefined {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  for (const line of lines.reverse()) {
    try {
      const value = JSON.parse(line) as unknown;
      if (value && typeof value === 'object' && !Array.isArray(value))
        return value as Record<string, unknown>;
    } catch {
      // progress or a foreign line: keep looking
    }
  }
  return undefined;
}

/**
 * The operator's one line for a failed command: the status, the exit code and the host
 * operation's own failure line (its result's `error`, or else the last line it wrote to stderr).
 */
export function describeHostFailure(operation: string, invocation: HostCommandInvocation): string {
  const result = parseHostResult(invocation.stdout);
  const error = typeof result?.error === 'string' ? result.error.split('\n')[0]! : undefined;
  const lastStderr = invocation.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .pop();
  const why = error ?? lastStderr ?? invocation.statusDetails;
  return oneLine(
    `releng-host ${operation}: ${invocation.status} (exit ${invocation.responseCode})${why ? `: ${why}` : ''}`,
  );
}
