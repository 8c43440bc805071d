import { appendFile, cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDefinitions, wasChecked } from '../../cli/engine/asl-validation.ts';
import { recordReads, sameReads } from '../../cli/engine/config-reads.ts';
import { definitionsFromTemplate, NO_DEFINITIONS } from '../../cli/engine/definitions.ts';
import { localDefinitions, synthesizeTemplate } from '../../cli/engine/synth.ts';
import { buildConfig, mergeConfig } from '../../shared/config/load.ts';
import type { ReleaseConfig } from '../../shared/config/schema.ts';

const PROJECT = fileURLToPath(new URL('../../', import.meta.url));

describe('config reads', () => {
  it('records values, key lists and presence, and tells a config that answers them differently', () => {
    const config = { stage: 'dev', majors: { '8': { order: ['a', 'b'] } }, key: 'K1' };
    const { view, reads } = recordReads(config);
    expect(Object.keys(view.majors)).toEqual(['8']);
    expect(view.majors['8'].order.map((x) => x)).toEqual(['a', 'b']);
    expect('stage' in view).toBe(true);
    const seen = reads();
    expect(sameReads({ ...config, key: 'K2' }, seen)).toBe(true); // never read
    expect(sameReads({ ...config, stage: 'prod' }, seen)).toBe(true); // only its presence was read
    expect(sameReads({ ...config, majors: { '8': { order: ['a', 'c'] } } }, seen)).toBe(false);
    expect(sameReads({ ...config, majors: { '8': config.majors['8'], '9': { order: [] } } }, seen)).toBe(
      false,
    );
    expect(sameReads({ key: 'K1', majors: config.majors }, seen)).toBe(false);
    expect(() => {
      (view as { stage: string }).stage = 'x';
    }).toThrow(/read-only/);
  });
});

describe('synthesized definitions cache', () => {
  let project: string;
  let synths = 0;
  const options = () => ({
    project,
    cacheDir: join(project, 'cache'),
    synthesize: (config: ReleaseConfig) => {
      synths++;
      return synthesizeTemplate(config);
    },
  });
  // As the demo's config is: a fresh signing key id and Apollo port every run.
  const demoLike = (keyId: string, port: number) =>
    buildConfig(
      mergeConfig(
        { majors: { '8': { signingKeyId: keyId }, '9': { signingKeyId: keyId } } },
        { errata: { apolloBaseUrl: `http://127.0.0.1:${port}/api/v3/updateinfo` } },
      ),
    );

  beforeAll(async () => {
    // A copy of the sources that key the cache, so one can be edited.
    project = await mkdtemp(join(tmpdir(), 'releng-synth-cache-'));
    for (const dir of ['cdk', 'shared', 'functions', 'host'])
      await cp(join(PROJECT, dir), join(project, dir), { recursive: true });
    await cp(join(PROJECT, 'package-lock.json'), join(project, 'package-lock.json'));
  });
  afterAll(async () => {
    if (project) await rm(project, { recursive: true, force: true });
  });

  it('synthesizes once for configs that differ only where synthesis does not read', async () => {
    const first = await localDefinitions(demoLike('AAAAAAAA11111111', 40001), options());
    expect(synths).toBe(1);
    const other = demoLike('BBBBBBBB22222222', 40002);
    const second = await localDefinitions(other, options());
    expect(synths).toBe(1);
    // What the hit returned is what synthesizing that config gives.
    expect(second).toEqual(definitionsFromTemplate(await synthesizeTemplate(other)));
    expect(second).toEqual(first);
    // Checked with asl-validator once, when synthesized: the engine need not check them again.
    expect(Object.values(second.machines).length).toBeGreaterThan(2);
    expect(Object.values(second.machines).every((d) => d && wasChecked(d))).toBe(true);
  });

  it('refuses a definition asl-validator rejects, naming the machine', () => {
    const broken = { machines: { compose: { StartAt: 'Nowhere', States: {} } }, index: NO_DEFINITIONS.index };
    expect(() => checkDefinitions(broken as never)).toThrow(/^State machine definition compose is invalid/);
    expect(wasChecked(broken.machines.compose)).toBe(false);
  });

  it('synthesizes again when a value synthesis reads changes', async () => {
    const longer = buildConfig({ approval: { timeoutHours: 12 } });
    await localDefinitions(longer, options());
    expect(synths).toBe(2);
    await localDefinitions(longer, options());
    expect(synths).toBe(2);
  });

  it('synthesizes again when any source file changes', async () => {
    await appendFile(join(project, 'shared', 'operations.ts'), '\n// an edit\n');
    await localDefinitions(demoLike('AAAAAAAA11111111', 40001), options());
    expect(synths).toBe(3);
    await appendFile(join(project, 'package-lock.json'), '\n');
    await localDefinitions(demoLike('AAAAAAAA11111111', 40001), options());
    expect(synths).toBe(4);
  });
});
