import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { build } from 'esbuild';

/**
 * A TypeScript helper script bundled once into plain JavaScript (packages left external, so it
 * must import none): a test that spawns it hundreds of times then starts each process in
 * node's own time instead of compiling it through tsx every time.
 */
export async function compiledScript(entry: string): Promise<string> {
  const outfile = join(await mkdtemp(join(tmpdir(), 'releng-script-')), `${basename(entry, '.ts')}.mjs`);
  await build({
    entryPoints: [entry],
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'error',
  });
  return outfile;
}
