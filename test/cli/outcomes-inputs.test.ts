import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '../..');

/** The real `releng` process, run from `cwd` as an engineer runs it. */
function releng(argv: string[], cwd: string) {
  return new Promise<{ code: number; out: string }>((done) => {
    const child = spawn(process.execPath, [join(REPO, 'bin', 'releng.mjs'), ...argv], {
      cwd,
      env: { ...process.env, RELENG_CONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('close', (code) => done({ code: code ?? -1, out }));
  });
}

let dir: string;
let root: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'releng-inputs-'));
  root = join(dir, 'release work', 'root');
  await mkdir(root, { recursive: true });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('releng config check', () => {
  it('defaults to ./releng.config.json and names each offending key, once', async () => {
    const cwd = join(dir, 'check');
    await mkdir(cwd);
    // 8.10 as a number, a misspelt key, a revision of major 9 under major 8.
    await writeFile(
      join(cwd, 'releng.config.json'),
      '{"majors": {"8": {"channels": {"stable": {"revision": 8.10}, "beta": {"revision": "9.3"}}, "arhces": ["x86_64"]}}}\n',
    );
    const { code, out } = await releng(['config', 'check'], cwd);
    expect(code).toBe(1);
    expect(out).toContain('releng.config.json: 3 problems');
    expect(out).toContain('majors.8.channels.stable.revision: write 8.10 as a string ("8.10")');
    expect(out).toContain('majors.8.channels.beta.revision: is not a release of major 8 (got "9.3")');
    expect(out).toContain('majors.8: "arhces" is not a known key (got ["x86_64"])');
    // Only the offending key: not the whole major's settings.
    expect(out).not.toContain('reposWithComps');
  });

  it('gives line and column of a JSON syntax error', async () => {
    const cwd = join(dir, 'syntax');
    await mkdir(cwd);
    await writeFile(join(cwd, 'releng.config.json'), '{\n  "majors": {\n    "8" {}\n  }\n}\n');
    const { code, out } = await releng(['config', 'check'], cwd);
    expect(code).toBe(1);
    expect(out).toMatch(/\(file\): not JSON at line 3, column 9: /);
  });

  it('says which file it looked for when there is none', async () => {
    const cwd = join(dir, 'empty');
    await mkdir(cwd);
    const { code, out } = await releng(['config', 'check'], cwd);
    expect(code).toBe(2);
    expect(out).toContain('releng.config.json does not exist');
  });
});

describe('releng config show --root', () => {
  it("shows the config the root's pipeline runs with, not the working directory's", async () => {
    await writeFile(
      join(root, 'releng.config.json'),
      JSON.stringify({ majors: { '8': { channels: { stable: { revision: '8.10' } } } } }),
    );
    const cwd = join(dir, 'elsewhere');
    await mkdir(cwd);
    await writeFile(
      join(cwd, 'releng.config.json'),
      JSON.stringify({ majors: { '8': { channels: { stable: { revision: '8.6' } } } } }),
    );
    const { code, out } = await releng(['config', 'show', '--major', '8', '--root', root], cwd);
    expect(code).toBe(0);
    expect(out).toContain(`config: ${join(root, 'releng.config.json')}`);
    expect(out).toMatch(/stable +8\.10 +staging .*8\.10-RC1/);
    expect(out).not.toContain('8.6');
  });

  it('fails on a missing root without creating it', async () => {
    const missing = join(dir, 'no such root');
    const { code, out } = await releng(['config', 'show', '--root', missing], dir);
    expect(code).toBe(2);
    expect(out).toContain(`--root ${missing}: no such directory`);
    expect(existsSync(missing)).toBe(false);
  });
});

describe('run commands check their inputs before starting anything', () => {
  it.each([
    [['compose', '--major', '7'], '--major "7": not configured (have 8, 9)'],
    [['compose', '--major', '8', '--compose', 'Nope'], '--compose "Nope": not a compose of major 8'],
    [['minor-release', '--release', '8.x'], '--release "8.x": expected MAJOR.MINOR, e.g. 8.10'],
    [['sync-staging', '--major', '8', '--release', '9.3'], '--release 9.3 is not a release of --major 8'],
    [['rollback', '--major', '8'], 'rollback: no publish of 8.10 is recorded'],
  ])('%j', async (argv, message) => {
    const { code, out } = await releng([...argv, '--root', root], dir);
    expect(out).toContain(message);
    expect(code).toBe(2);
    // No execution started, no lock taken.
    expect(await readdir(join(root, 'engine', 'executions')).catch(() => [])).toEqual([]);
  });

  it('refuses a root it cannot create', async () => {
    await writeFile(join(dir, 'a-file'), 'x');
    const { code, out } = await releng(
      ['compose', '--major', '8', '--root', join(dir, 'a-file', 'root')],
      dir,
    );
    expect(code).toBe(2);
    expect(out).toContain(`is not a directory`);
  });
});
