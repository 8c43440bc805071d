import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRelengApp } from '../../cdk/build.ts';
import { CONFIG_GATED_FUNCTIONS, FUNCTION_NAMES } from '../../cdk/constructs/releng-function.ts';
import { buildConfig } from '../../shared/config/load.ts';
import type { CfnTemplate } from './synth.ts';

/** What each deployed zip may weigh: a cold start downloads and reads all of it. */
const MAX_ZIP_BYTES = 60 * 1024;

describe('Lambda assets as `cdk synth` bundles them', () => {
  let outdir: string;
  let assets: Array<{ handler: string; dir: string }>;

  beforeAll(async () => {
    outdir = await mkdtemp(join(tmpdir(), 'releng-assets-'));
    const app = new App({ outdir });
    const { stack } = buildRelengApp({ config: buildConfig({}), nag: false, app });
    const assembly = app.synth();
    const template = assembly.getStackByName(stack.stackName).template as CfnTemplate;
    assets = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.['releng:function'])
      .map((r) => ({
        handler: r.Metadata!['releng:function'] as string,
        // The S3 key is the asset's hash; the assembly holds it as the directory `asset.<hash>`.
        dir: join(outdir, `asset.${String(r.Properties?.Code?.S3Key).replace(/\.zip$/, '')}`),
      }));
  });
  afterAll(async () => {
    if (outdir) await rm(outdir, { recursive: true, force: true });
  });

  it('bundles every handler', () => {
    // The koji poller is deployed only with koji.hubUrl (test/cdk/koji-poller.test.ts).
    expect(assets.map((a) => a.handler).sort()).toEqual(
      FUNCTION_NAMES.filter((name) => !CONFIG_GATED_FUNCTIONS.includes(name)).sort(),
    );
  });

  it('ships no source maps, and each zip (deflated by zip, as the asset is) is at most 60 KB', async () => {
    for (const { handler, dir } of assets) {
      const files = await readdir(dir);
      expect(files, handler).toContain('index.mjs');
      expect(
        files.filter((f) => f.endsWith('.map')),
        handler,
      ).toEqual([]);
      const zip = join(outdir, `${handler}.zip`);
      const zipped = spawnSync('zip', ['-q', '-r', '-X', zip, '.'], { cwd: dir, encoding: 'utf8' });
      expect(zipped.status, zipped.stderr).toBe(0);
      const { size } = await stat(zip);
      expect(size, `${handler}: ${size} bytes zipped`).toBeLessThanOrEqual(MAX_ZIP_BYTES);
      // A sanity floor: the zip holds the whole handler, not an empty or broken bundle.
      expect(size, handler).toBeGreaterThan(10 * 1024);
    }
  });
});
