import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonStore, LocalLockStore } from '../../cli/local/index.ts';
import { manualClock } from '../functions/support.ts';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'releng-local-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('local stores', () => {
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

  it('keep a lock for its owner until it expires, then let another take it', async () => {
    const clock = manualClock();
    const locks = new LocalLockStore(join(dir, 'locks.json'), clock);
    expect(await locks.acquire('lane:8/Rocky', 'a', 60)).toEqual({ acquired: true });
    expect(await locks.acquire('lane:8/Rocky', 'a', 60)).toEqual({ acquired: true });
    expect(await locks.acquire('lane:8/Rocky', 'b', 60)).toMatchObject({
      acquired: false,
      holder: { owner: 'a' },
    });
    await locks.release('lane:8/Rocky', 'b');
    expect((await locks.holder('lane:8/Rocky'))?.owner).toBe('a');
    clock.advance(61);
    expect(await locks.holder('lane:8/Rocky')).toBeUndefined();
    expect(await locks.acquire('lane:8/Rocky', 'b', 60)).toEqual({ acquired: true });
    expect((await locks.list()).map((l) => [l.name, l.owner])).toEqual([['lane:8/Rocky', 'b']]);
  });

  it('name the file when it holds no JSON, rather than starting over empty', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{"half":');
    await expect(new JsonStore(file, () => ({})).read()).rejects.toThrow(file);
  });
});
