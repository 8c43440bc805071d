import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { captureOutput } from './cli-output.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'releng-cli-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('releng commands on a local root', () => {
  it('runs a single host operation with --step semantics and reports its exit code', async () => {
    await mkdir(join(root, 'mnt/repos-production/mirror/pub/rocky/8.10/BaseOS'), { recursive: true });
    await writeFile(join(root, 'mnt/repos-production/mirror/pub/rocky/8.10/BaseOS/a.rpm'), 'a');
    const out = captureOutput();
    expect(await main(['file-lists', '--root', root], out)).toBe(0);
    expect(out.lines[0]).toBe(`releng file-lists: releng-host file-lists --root ${root}`);
    expect(
      await readFile(join(root, 'mnt/repos-production/mirror/pub/rocky/fullfiletimelist-rocky'), 'utf8'),
    ).toContain('8.10/BaseOS/a.rpm');
  });

  it('refuses a bad step option before running anything', async () => {
    const out = captureOutput();
    expect(await main(['sign', '--root', root, '--major', '8', '--tree', 'elsewhere'], out)).toBe(2);
    expect(out.errors[0]).toMatch(/--tree "elsewhere" is not one of staging, production/);
  });

  it('says what to do about an unknown execution or approval', async () => {
    const out = captureOutput();
    expect(await main(['history', 'nope', '--root', root], out)).toBe(1);
    expect(out.errors[0]).toBe('releng history: no execution named "nope"; run releng status to list them');
    expect(await main(['approve', 'nope', '--root', root], out)).toBe(2);
    expect(out.errors[1]).toMatch(/no approval nope; run releng approvals/);
    expect(await main(['status', '--root', root, '--json'], out)).toBe(0);
    expect(out.last()).toEqual({ executions: [], locks: [] });
  });

  it('draws a state machine of the CDK app as Graphviz, and refuses an unknown one', async () => {
    const out = captureOutput();
    expect(await main(['graph', 'staging', '--format', 'dot'], out)).toBe(0);
    expect(out.lines.join('\n')).toMatch(/^digraph "staging" \{[\s\S]*Sign repos[\s\S]*\}$/);
    expect(await main(['graph', 'everything'], out)).toBe(2);
    expect(out.errors.at(-1)).toMatch(/one of compose, staging, promotion, minor-release/);
  });
});
