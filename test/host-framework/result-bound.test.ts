import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundedResultLine, MAX_RESULT_LINE_BYTES } from '../../host/framework/result.ts';
import { main } from '../../host/main.ts';

/**
 * The result line the state machine parses out of SSM's first 24,000 characters of stdout: at
 * most 4,096 bytes whatever an operation returns, always JSON, scalars kept.
 */
const bytes = (line: string) => Buffer.byteLength(line, 'utf8');

describe('boundedResultLine', () => {
  it('prints a result that fits exactly as it is', () => {
    const result = { operation: 'verify-staging', ok: true, digest: 'a'.repeat(64), plan: ['one step'] };
    expect(boundedResultLine(result)).toBe(JSON.stringify(result));
  });

  it('cuts the largest lists, maps and strings first and keeps the scalars', () => {
    const result = {
      operation: 'sign-repos',
      ok: false,
      dryRun: false,
      digest: 'f'.repeat(64),
      resultFile: '/var/lib/releng/results/sign-repos-2026-01-01T00-00-00-000Z-42.json',
      plan: Array.from({ length: 20_000 }, (_, i) => `$ gpg --detach-sign repo-${i}/repodata/repomd.xml`),
      error: `verification failed:\n${'  BaseOS/x86_64/os: bad ✓ signature\n'.repeat(3000)}`,
      repos: Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`repo-${i}`, { packages: i }])),
      summary: {
        composeIds: ['Rocky-8-updates-20260101.0'],
        advisories: ['RLBA-2026:0001'],
        packageCount: 3,
      },
    };
    const line = boundedResultLine(result);
    expect(bytes(line)).toBeLessThanOrEqual(MAX_RESULT_LINE_BYTES);
    const parsed = JSON.parse(line);
    expect(parsed).toMatchObject({
      operation: 'sign-repos',
      ok: false,
      dryRun: false,
      digest: result.digest,
      resultFile: result.resultFile,
      truncated: true,
      summary: result.summary,
    });
    expect(result.plan.slice(0, parsed.plan.length)).toEqual(parsed.plan);
    expect(parsed.error.startsWith('verification failed:\n  BaseOS/x86_64/os: bad ✓ signature')).toBe(true);
  });

  it('falls back to what identifies the run when scalars alone are too many', () => {
    const result: Record<string, unknown> = {
      operation: 'doctor',
      ok: true,
      dryRun: false,
      resultFile: '/r.json',
    };
    for (let i = 0; i < 1000; i++) result[`count${i}`] = i;
    const parsed = JSON.parse(boundedResultLine(result));
    expect(parsed).toEqual({
      operation: 'doctor',
      ok: true,
      dryRun: false,
      resultFile: '/r.json',
      truncated: true,
    });
  });

  it('always gives parseable JSON within the bound, for any result', () => {
    fc.assert(
      fc.property(
        // The keys the fallback keeps come up often, with values of any size.
        fc.dictionary(
          fc.oneof(fc.string(), fc.constantFrom('operation', 'ok', 'log', 'resultFile')),
          fc.jsonValue(),
        ),
        fc.integer({ min: 200, max: 4096 }),
        (value, max) => {
          const result = { operation: 'x', ok: true, dryRun: false, ...value };
          const line = boundedResultLine(result, max);
          expect(bytes(line)).toBeLessThanOrEqual(max);
          expect(typeof JSON.parse(line)).toBe('object');
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('releng-host writes the whole result to a file on the host', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'releng-results-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const run = async (...args: string[]) => {
    const out: string[] = [];
    const code = await main(['file-lists', '--root', root, ...args, '--json'], {
      stdout: (l) => out.push(l),
      stderr: () => {},
      clock: { now: () => new Date('2026-03-04T05:06:07.089Z') },
    });
    return { code, line: out.at(-1)! };
  };

  it('names it in resultFile; a dry run writes none', async () => {
    const dry = await run('--dry-run');
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.line).resultFile).toBeUndefined();
    expect(existsSync(join(root, 'var/lib/releng/results'))).toBe(false);

    const real = await run();
    expect(real.code).toBe(0);
    const { resultFile } = JSON.parse(real.line);
    expect(resultFile).toBe(
      join(root, `var/lib/releng/results/file-lists-2026-03-04T05-06-07-089Z-${process.pid}.json`),
    );
    expect(JSON.parse(await readFile(resultFile, 'utf8'))).toEqual(JSON.parse(real.line));
    // Atomic: no temp file is left beside it.
    expect(await readdir(join(root, 'var/lib/releng/results'))).toEqual([resultFile.split('/').at(-1)]);
  });
});
