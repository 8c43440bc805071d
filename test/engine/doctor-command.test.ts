import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { captureOutput } from './cli-output.ts';

/**
 * `releng doctor` runs the stack's doctor document on the host the way a pipeline does (here: the
 * local agent on a fresh root, after the install document put releng-host there).
 */
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'releng-doctor-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('releng doctor', () => {
  it('reports a host without its signing key and exits 1, naming the problem', {
    timeout: 120_000,
  }, async () => {
    const out = captureOutput();
    const code = await main(['doctor', '--root', root, '--major', '8'], out);
    expect(code).toBe(1);
    const text = out.lines.join('\n');
    expect(text).toMatch(/^tools:/);
    expect(text).toMatch(/ok +rsync +required/);
    expect(text).toMatch(/problems:\n.*signing/is);
  });

  it('gives the whole report with --json', { timeout: 120_000 }, async () => {
    const out = captureOutput();
    const code = await main(['doctor', '--root', root, '--json'], out);
    const body = out.last<{
      status: string;
      exitCode: number;
      report: { problems: string[]; trees: unknown[] };
    }>();
    expect(code).toBe(1);
    expect(body.status).toBe('Failed');
    expect(body.exitCode).toBe(1);
    expect(body.report.trees).toHaveLength(4);
    expect(body.report.problems.length).toBeGreaterThan(0);
  });

  it('refuses a bad major before anything runs', async () => {
    const out = captureOutput();
    expect(await main(['doctor', '--root', root, '--major', "8'; id"], out)).toBe(2);
    expect(out.errors.join('\n')).toContain(`--major "8'; id" is not a major version`);
  });
});
