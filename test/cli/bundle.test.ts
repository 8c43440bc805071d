import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PROJECT = fileURLToPath(new URL('../../', import.meta.url));

/** bin/ runs prebuilt bundles; this checks on a copy of the checkout that they are never stale. */
describe('the prebuilt bin bundles', () => {
  let copy: string;
  const run = (bin: string, ...argv: string[]) =>
    spawnSync(process.execPath, [join(copy, 'bin', bin), ...argv], { encoding: 'utf8' });
  const builds = async () => (await readdir(join(copy, '.build', 'bin'))).filter((f) => !f.endsWith('.json'));

  beforeAll(async () => {
    copy = await mkdtemp(join(tmpdir(), 'releng-bundle-'));
    for (const entry of ['cli', 'host', 'shared', 'cdk', 'functions', 'package.json', 'tsconfig.json'])
      await cp(join(PROJECT, entry), join(copy, entry), { recursive: true });
    await cp(join(PROJECT, 'bin'), join(copy, 'bin'), { recursive: true });
    await symlink(join(PROJECT, 'node_modules'), join(copy, 'node_modules'));
  });
  afterAll(async () => {
    if (copy) await rm(copy, { recursive: true, force: true });
  });

  it('builds a missing bundle on first use, then reuses it', async () => {
    const first = run('releng.mjs', '--version');
    expect(first.stderr).toBe('');
    // help.ts finds package.json from its own location: the bundle keeps source-relative URLs.
    expect(first.stdout).toBe('releng 0.1.0\n');
    expect(await builds()).toHaveLength(1);
    expect(run('releng.mjs', '--version').stdout).toBe('releng 0.1.0\n');
    expect(await builds()).toHaveLength(1);
  });

  it('rebuilds after a source file changes, and runs the changed source', async () => {
    const main = join(copy, 'cli', 'main.ts');
    await writeFile(
      main,
      (await readFile(main, 'utf8')).replace(/releng \$\{version\(\)\}/, 'releng edited'),
    );
    expect(run('releng.mjs', '--version').stdout).toBe('releng edited\n');
    expect(await builds()).toHaveLength(2);
  });

  it('runs releng-host from its bundle, its operations loaded only to run one', async () => {
    const help = run('releng-host.mjs', 'doctor', '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: releng-host doctor --root DIR/);
    const dryRun = run('releng-host.mjs', 'doctor', '--root', copy, '--dry-run', '--json');
    expect(JSON.parse(dryRun.stdout.trim().split('\n').at(-1)!)).toMatchObject({ operation: 'doctor' });
  });
});
