import type { Output } from '../../cli/output.ts';

/** An Output that keeps what a command printed, and parses its last (--json) line. */
export function captureOutput(): Output & {
  lines: string[];
  errors: string[];
  last<T = Record<string, unknown>>(): T;
} {
  const lines: string[] = [];
  const errors: string[] = [];
  return {
    lines,
    errors,
    line: (t) => lines.push(t),
    error: (t) => errors.push(t),
    json: (v) => lines.push(JSON.stringify(v)),
    last: <T>() => JSON.parse(lines.at(-1)!) as T,
  };
}
