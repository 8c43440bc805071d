import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStore } from '../../cli/local/index.ts';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'releng-local-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('JsonStore (executions.json of --engine record)', () => {
  it('lose no update when two processes read-modify-write the same file', async () => {
    const script = join(dir, 'bump.mts');
    await writeFile(
      script,
      [
        `import { JsonStore } from ${JSON.stringify(join(repo, 'cli/local/json-store.ts'))};`,
        `const store = new JsonStore(process.argv[2], () => ({ count: 0 }));`,
        'for (let i = 0; i < 300; i++) await store.update((d) => { d.count++; });',
      ].join('\n'),
    );
    const file = join(dir, 'counter.json');
    const tsx = join(repo, 'node_modules/.bin/tsx');
    await Promise.all([run(tsx, [script, file]), run(tsx, [script, file])]);
    expect(await new JsonStore(file, () => ({ count: 0 })).read()).toEqual({ count: 600 });
    expect((await readdir(dir)).sort()).toEqual(['bump.mts', 'counter.json']);
  });

  it('name the file when it holds no JSON, rather than starting over empty', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{"half":');
    await expect(new JsonStore(file, () => ({})).read()).rejects.toThrow(file);
  });
});
