import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoResult } from '../../cli/demo/demo.ts';
import { main } from '../../cli/main.ts';
import { captureOutput as capture } from '../engine/cli-output.ts';
import { dnfClient } from '../support/rpm.ts';

/**
 * `releng demo --release 9.3`: a Rocky 9 updates cycle end to end on the embedded engine, with
 * 9's names (CRB, extras inside the Rocky compose, the -RC4 staging dir), the staging sync that
 * deletes, and repoclosure over 9's repo sets; then dnf as a Rocky 9 client of production.
 */
let root: string;
let code: number;
let demo: DemoResult;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'releng-e2e-9-'));
  await rm(root, { recursive: true });
  const out = capture();
  code = await main(['demo', '--root', root, '--yes', '--json', '--release', '9.3'], out);
  demo = out.last<DemoResult>();
}, 600_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('releng demo --release 9.3', () => {
  it('runs every state machine to success and publishes to rocky/9.3', () => {
    expect(code).toBe(0);
    expect(demo.executions.filter((e) => e.status !== 'SUCCEEDED')).toEqual([]);
    expect(demo.published).toBe(true);
    expect(demo.composeId).toMatch(/^Rocky-9-updates-[0-9]{8}\.[0-9]+$/);
    expect(demo.stagingDir.endsWith('/mirror/pub/rocky/9.3-RC4')).toBe(true);
    expect(demo.productionDir.endsWith('/mirror/pub/rocky/9.3')).toBe(true);
  });

  it("publishes 9's repos: CRB, not PowerTools, and extras from the Rocky compose", () => {
    for (const repo of ['BaseOS', 'AppStream', 'CRB', 'extras'])
      expect(existsSync(join(demo.productionDir, repo, 'x86_64', 'os', 'repodata', 'repomd.xml')), repo).toBe(
        true,
      );
    expect(existsSync(join(demo.productionDir, 'PowerTools'))).toBe(false);
  });

  it("closed 9's repo sets before approval", async () => {
    const manifest = JSON.parse(
      await readFile(join(root, 'mnt/repos-staging/.releng/manifests/9.3-RC4.json'), 'utf8'),
    );
    expect(manifest.repoclosure.status).toBe('passed');
    expect(
      manifest.repoclosure.sets.map((s: { arch: string; checked: string[] }) => `${s.arch} ${s.checked}`),
    ).toEqual([
      'x86_64 BaseOS,AppStream',
      'x86_64 CRB',
      'x86_64 extras',
      'aarch64 BaseOS,AppStream',
      'aarch64 CRB',
      'aarch64 extras',
    ]);
  });

  it('serves a Rocky 9 dnf client: repo_gpgcheck passes and demo-tool installs with its dependency', async () => {
    const repo = (variant: string) => ({
      id: `demo9-${variant}`,
      path: join(demo.productionDir, variant, 'x86_64', 'os'),
      gpgKey: demo.gpgPublicKey,
    });
    const dnf = await dnfClient(join(root, 'dnf9'), [repo('BaseOS'), repo('AppStream')], '9');
    await dnf.run(['install', 'demo-tool']);
    const installed = (await dnf.run(['list', '--installed'])).stdout;
    expect(installed).toContain('demo-tool.x86_64');
    expect(installed).toContain('demo-hello.noarch');
  }, 120_000);
});
