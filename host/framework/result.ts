import { join } from 'node:path';
import { writeFileAtomic } from './fsutil.ts';

/**
 * SSM's GetCommandInvocation returns only the first 24,000 characters of stdout, and the state
 * machine parses the result line out of it. The line is therefore held to 4 KB whatever the
 * operation found; the whole result goes to a file on the host (`resultFile`).
 */
export const MAX_RESULT_LINE_BYTES = 4096;

/** Top-level strings up to this length are kept whole (ids, paths, digests, a short error). */
const KEEP_STRING = 256;

const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');

/** A strictly smaller version of `value`, or undefined when it cannot shrink any further. */
function shrinkOnce(value: unknown): unknown {
  if (typeof value === 'string')
    return value.length > 16 ? `${value.slice(0, value.length >> 1)}…` : undefined;
  if (Array.isArray(value)) {
    if (value.length > 1) return value.slice(0, Math.ceil(value.length / 2));
    if (value.length === 0) return undefined;
    const item = shrinkOnce(value[0]);
    return item === undefined ? [] : [item];
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return undefined;
    // A map of many entries (per repo, per file) loses half of them at a time, like a list.
    if (entries.length > 8) return Object.fromEntries(entries.slice(0, Math.ceil(entries.length / 2)));
    const [key, largest] = entries.reduce((a, b) => (size(b[1]) > size(a[1]) ? b : a));
    const smaller = shrinkOnce(largest);
    const copy: Record<string, unknown> = { ...value };
    if (smaller === undefined) delete copy[key];
    else copy[key] = smaller;
    return copy;
  }
  return undefined;
}

const shrinkable = (value: unknown) =>
  (typeof value === 'string' && value.length > KEEP_STRING) || (typeof value === 'object' && value !== null);

/**
 * One JSON line of at most `maxBytes` bytes: the result itself when it fits; otherwise its
 * largest lists, objects and long strings are cut (largest first, lists keep their first
 * items), scalars and short strings stay, and `truncated: true` says so. Always parseable.
 */
export function boundedResultLine(result: Record<string, unknown>, maxBytes = MAX_RESULT_LINE_BYTES): string {
  const whole = JSON.stringify(result);
  if (Buffer.byteLength(whole, 'utf8') <= maxBytes) return whole;
  const out: Record<string, unknown> = { ...result, truncated: true };
  while (size(out) > maxBytes) {
    const candidates = Object.keys(out).filter((k) => shrinkable(out[k]));
    if (candidates.length === 0) break;
    const key = candidates.reduce((a, b) => (size(out[b]) > size(out[a]) ? b : a));
    const smaller = shrinkOnce(out[key]);
    if (smaller === undefined) delete out[key];
    else out[key] = smaller;
  }
  const line = JSON.stringify(out);
  if (Buffer.byteLength(line, 'utf8') <= maxBytes) return line;
  // Only scalars left and still too long (hundreds of them): keep what identifies the run.
  const identity: Record<string, unknown> = { ok: result.ok === true, truncated: true };
  for (const key of ['operation', 'dryRun', 'resultFile', 'log']) {
    const value = result[key];
    if (typeof value === 'boolean' || (typeof value === 'string' && value.length <= KEEP_STRING))
      identity[key] = value;
  }
  const fallback = JSON.stringify(identity);
  return Buffer.byteLength(fallback, 'utf8') <= maxBytes
    ? fallback
    : JSON.stringify({ ok: identity.ok, truncated: true });
}

/** `<root>/var/lib/releng/results/<operation>-<timestamp>-<pid>.json` */
export function resultFilePath(root: string, operation: string, now: Date, pid = process.pid): string {
  const stamp = now.toISOString().replaceAll(/[:.]/g, '-');
  return join(root, 'var', 'lib', 'releng', 'results', `${operation}-${stamp}-${pid}.json`);
}

/** Writes the whole result atomically: a reader sees no file or all of it. */
export async function writeResultFile(path: string, result: Record<string, unknown>): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(result)}\n`);
}
