import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADVISORY_ID, type PackageStore, tagUpdate } from '../../cli/demo/package-store.ts';
import { StagingReadyV1 } from '../../shared/messages/promotion.ts';
import { type HostRun, hostRunner, newStore } from './support.ts';

/**
 * SSM's GetCommandInvocation returns the first 24,000 characters of stdout and the state
 * machine parses verify-staging's result line out of it. With every advisory in that line,
 * about 1,400 advisories broke staging. Here 5,000 go through apply-updateinfo and
 * verify-staging: the line stays under 4 KB and parses, the state machine's fields are whole,
 * and the result file on the host holds every advisory.
 */
const COUNT = 5000;
const ids = Array.from({ length: COUNT }, (_, i) => `RLBA-2026:${String(i + 1).padStart(4, '0')}`);

/** The store's one advisory, repeated under 5,000 ids (all for the same update build). */
function manyAdvisories(updateinfo: string): string {
  const start = updateinfo.indexOf('  <update ');
  const end = updateinfo.indexOf('</updates>');
  const one = updateinfo.slice(start, end);
  return `${updateinfo.slice(0, start)}${ids.map((id) => one.replace(ADVISORY_ID, id)).join('')}</updates>\n`;
}

describe('verify-staging with 5,000 advisories', () => {
  let dir: string;
  let store: PackageStore;
  let verify: HostRun;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'releng-advisories-'));
    store = await newStore(dir);
    const host = hostRunner(store);
    const ok = async (operation: string, ...args: string[]) => {
      const run = await host(operation, ...args);
      expect(run.result.error ?? '', `${operation}\n${run.stderr}`).toBe('');
      return run;
    };
    await tagUpdate(store);
    const updateinfo = join(dir, 'updateinfo-5000.xml');
    await writeFile(updateinfo, manyAdvisories(await readFile(store.updateinfoPath, 'utf8')));
    await ok('compose', '--compose', 'Rocky', '--kind', 'updates');
    await ok('sync-to-staging', '--compose', 'Rocky');
    await ok('prep-staging');
    await ok('apply-updateinfo', '--updateinfo', updateinfo);
    await ok('sign-repos');
    verify = await ok('verify-staging');
  }, 300_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints one JSON line of at most 4,096 bytes that parses and names the digest', () => {
    expect(verify.code).toBe(0);
    expect(Buffer.byteLength(verify.line, 'utf8')).toBeLessThanOrEqual(4096);
    const line = JSON.parse(verify.line);
    expect(line.digest).toMatch(/^[a-f0-9]{64}$/);
    expect(line).toMatchObject({ ok: true, major: '8', channel: 'stable', revision: '8.7', truncated: true });
    expect(line.manifest).toMatch(/\.releng\/manifests\/8\.7-RC1\.json$/);
    expect(line.summary.advisoryCount).toBe(COUNT);
    expect(line.summary.advisories).toEqual(ids.slice(0, 10));
  });

  it('carries a summary the staging-ready message accepts, as the state machine builds it', () => {
    const line = JSON.parse(verify.line);
    const message = StagingReadyV1.parse({
      version: 1,
      type: 'staging-ready',
      major: '8',
      channel: 'stable',
      revision: line.revision,
      digest: line.digest,
      summary: line.summary,
      requestedBy: 'release-bot',
      sigs: [],
    });
    expect(message.summary.advisoryCount).toBe(COUNT);
  });

  it('keeps the whole result, every advisory, in the result file on the host', async () => {
    const line = JSON.parse(verify.line);
    expect(line.resultFile).toMatch(/\/var\/lib\/releng\/results\/verify-staging-.*-[0-9]+\.json$/);
    expect(line.resultFile.startsWith(dir)).toBe(true);
    const full = JSON.parse(await readFile(line.resultFile, 'utf8'));
    expect(full.advisories).toEqual(ids);
    expect(full.digest).toBe(line.digest);
    expect(full.summary).toEqual(line.summary);
    const manifest = JSON.parse(await readFile(line.manifest, 'utf8'));
    expect(manifest.digest).toBe(line.digest);
  });
});
