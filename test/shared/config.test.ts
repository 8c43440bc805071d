import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConfig, ConfigError, loadConfig } from '../../shared/config/load.ts';
import { allRepos, releasePaths, resolveRelease } from '../../shared/release.ts';

const config = buildConfig();

function problemsOf(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('Rocky 8 defaults (common + common_8)', () => {
  const r8 = config.majors['8']!;
  it('has the seed arches and repo lists', () => {
    expect(r8.arches).toEqual(['x86_64', 'aarch64']);
    expect(r8.reposWithComps).toEqual([
      'BaseOS',
      'AppStream',
      'HighAvailability',
      'ResilientStorage',
      'PowerTools',
      'RT',
      'NFV',
    ]);
    expect(r8.reposWithoutComps).toEqual(['extras', 'Devel', 'plus']);
    expect(allRepos(r8)).toHaveLength(10);
    expect(r8.moduleRepos).toEqual(['AppStream', 'PowerTools']);
    expect(r8.linkRepos).toEqual({ NFV: 'nfv', Devel: 'devel' });
    expect(r8.sigComposes).toEqual({ kernel: 'kernel/kernel', kmod: 'kernel/kmod' });
    expect(r8.isoVariants).toEqual(['boot', 'minimal', 'dvd1']);
  });
  it('has the non-SIG composes, each with a pungi config per kind, synced in the seed order', () => {
    expect(Object.keys(r8.composes).sort()).toEqual(['Extras', 'NFV', 'Plus', 'Rocky', 'Rocky-devel']);
    expect(r8.composes.Rocky!.pungiConfig.produce).toBe('r8.conf');
    expect(r8.composes['Rocky-devel']!.pungiConfig).toEqual({ updates: 'r8-devel.conf' });
    const order = r8.stagingOrder;
    expect(order.indexOf('Plus')).toBeLessThan(order.indexOf('Extras'));
    expect(order.indexOf('Extras')).toBeLessThan(order.indexOf('Rocky-devel'));
    expect(order.at(-1)).toBe('Rocky');
  });
  it.each([
    ['stable', '8.7', '8.7-RC1', '8.7', 'mnt/compose/8', true],
    ['beta', '8.8', '8.8-BETA', '8.8', 'mnt/compose/8-BETA', false],
    ['lh', '8.8', '8.8-LookAhead', '8.8', 'mnt/compose/8-LookAhead', false],
  ] as const)(
    'channel %s: revision %s, staging %s',
    (channel, revision, staging, prod, composeRoot, publishable) => {
      const release = resolveRelease(config, { major: '8', channel });
      expect(release.revision).toBe(revision);
      expect(release.stagingDirName).toBe(staging);
      expect(release.productionDirName).toBe(prod);
      expect(release.publishable).toBe(publishable);
      const paths = releasePaths(config, '/', release);
      expect(paths.composeRoot).toBe(`/${composeRoot}`);
      expect(paths.stagingRelease).toBe(`/mnt/repos-staging/mirror/pub/rocky/${staging}`);
      expect(paths.productionRelease).toBe(`/mnt/repos-production/mirror/pub/rocky/${prod}`);
    },
  );
  it('keeps owner, hardlink exclusions and category stubs', () => {
    expect(config.owner).toEqual({ uid: 10004, gid: 10005 });
    expect(config.hardlinkExclude).toEqual(['*.xml*', '.treeinfo', '.discinfo']);
    expect(config.categoryStub).toBe('mirror/pub/rocky');
    expect(config.sigCategoryStub).toBe('mirror/pub/sig');
  });
});

describe('Rocky 9 defaults (common_9)', () => {
  const r9 = config.majors['9']!;
  it('has four arches, CRB/SAP repos and only the Rocky compose', () => {
    expect(r9.arches).toEqual(['x86_64', 'aarch64', 'ppc64le', 's390x']);
    expect(r9.reposWithComps).toEqual(expect.arrayContaining(['CRB', 'SAP', 'SAPHANA']));
    expect(r9.reposWithComps).not.toContain('PowerTools');
    expect(Object.keys(r9.composes)).toEqual(['Rocky']);
    expect(r9.linkRepos).toEqual({ NFV: 'nfv' });
  });
  it('derives 9.1-RC4 and lowercase beta/lookahead dirs with no compose suffix', () => {
    expect(resolveRelease(config, { major: '9' }).stagingDirName).toBe('9.1-RC4');
    expect(resolveRelease(config, { major: '9', channel: 'beta' }).stagingDirName).toBe('9.2-beta');
    const lh = resolveRelease(config, { major: '9', channel: 'lh' });
    expect(lh.stagingDirName).toBe('9.2-lookahead');
    expect(releasePaths(config, '/', lh).composeRoot).toBe('/mnt/compose/9');
  });
});

describe('derived values are computed, not cut from strings', () => {
  it('8.10 stays 8.10 in production (the old three-character cut made 8.1)', () => {
    const release = resolveRelease(config, { revision: '8.10' });
    expect(release).toMatchObject({
      major: '8',
      minor: 10,
      stagingDirName: '8.10-RC1',
      productionDirName: '8.10',
    });
  });
  it('refuses a revision of another major and an unconfigured major', () => {
    expect(() => resolveRelease(config, { major: '8', revision: '9.1' })).toThrow(
      /"9.1" does not belong to major 8/,
    );
    expect(() => resolveRelease(config, { major: '7' })).toThrow(/major "7" is not configured/);
  });
  it('an unknown channel is an error, never an empty revision', () => {
    // @ts-expect-error: a caller outside TypeScript (a CLI flag, a message) may pass anything
    expect(() => resolveRelease(config, { channel: 'nightly' })).toThrow(/channel "nightly"/);
  });
});

describe('config overrides', () => {
  it('merges a file over the defaults: objects by key, arrays replaced', () => {
    const dir = mkdtempSync(join(tmpdir(), 'releng-config-'));
    const file = join(dir, 'releng.config.json');
    writeFileSync(
      file,
      JSON.stringify({ majors: { '8': { channels: { stable: { revision: '8.10' } }, arches: ['x86_64'] } } }),
    );
    const loaded = loadConfig(file, {});
    expect(loaded.majors['8']!.channels.stable).toEqual({
      revision: '8.10',
      dirSuffix: '-RC1',
      composeSuffix: '',
      publishable: true,
    });
    expect(loaded.majors['8']!.arches).toEqual(['x86_64']);
    expect(loaded.majors['9']!.arches).toHaveLength(4);
  });
  it('lists every problem, each naming the key and the bad value', () => {
    const problems = problemsOf(() =>
      buildConfig({
        syncJobs: 0,
        majors: {
          '8': {
            channels: { stable: { revision: '8.x' }, bogus: {} },
            moduleRepos: ['Nope'],
            arches: ['x86 64'],
          },
        },
      }),
    );
    const keys = problems.map((p) => p.key);
    expect(keys).toEqual(
      expect.arrayContaining([
        'syncJobs',
        'majors.8.channels.stable.revision',
        'majors.8.channels',
        'majors.8.arches.0',
      ]),
    );
    expect(problems.find((p) => p.key === 'majors.8.channels.stable.revision')!.value).toBe('8.x');
    expect(problems.find((p) => p.key === 'majors.8.arches.0')!.value).toBe('x86 64');
  });
  it('reports cross-field mistakes: a module repo without comps, a koji tag to no compose', () => {
    const problems = problemsOf(() =>
      buildConfig({ majors: { '8': { moduleRepos: ['extras'], kojiTags: { 'dist-x': 'Nowhere' } } } }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          key: 'majors.8.moduleRepos.0',
          value: 'extras',
          message: 'is not in reposWithComps',
        }),
        expect.objectContaining({ key: 'majors.8.kojiTags.dist-x', value: 'Nowhere' }),
      ]),
    );
  });
  it('refuses SIGs staged with a compose that is not configured, or that are no configured SIG', () => {
    const problems = problemsOf(() =>
      buildConfig({ majors: { '8': { sigsStagedWith: { Rocky: ['kernel', 'cloud'], Nowhere: ['kmod'] } } } }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: 'majors.8.sigsStagedWith.Rocky.1', value: 'cloud' }),
        expect.objectContaining({ key: 'majors.8.sigsStagedWith.Nowhere', value: 'Nowhere' }),
      ]),
    );
    expect(problems).toHaveLength(2);
    const ok = buildConfig({ majors: { '8': { sigsStagedWith: { Rocky: ['kernel'] } } } });
    expect(ok.majors['8']!.sigsStagedWith).toEqual({ Rocky: ['kernel'] });
    expect(ok.promotion.coalesceSeconds).toBe(180);
  });
  it('reports each cross-reference that names nothing configured, in rule order', () => {
    const problems = problemsOf(() =>
      buildConfig({
        defaultMajor: '7',
        majors: {
          '8': {
            repoclosureBase: ['BaseOS', 'Nope'],
            linkRepos: { Gone: 'gone' },
            stagingOrder: ['Plus', 'Extras', 'Rocky-devel', 'Rocky', 'Nowhere'],
            composes: { Extras: { variants: ['extras', 'Mystery'] } },
          },
        },
      }),
    );
    expect(problems).toEqual([
      { key: 'defaultMajor', message: 'names no configured major (have 8, 9)', value: '7' },
      { key: 'majors.8.repoclosureBase.1', message: 'is not a configured repo', value: 'Nope' },
      { key: 'majors.8.linkRepos.Gone', message: 'links a repo that is not configured', value: 'Gone' },
      { key: 'majors.8.stagingOrder.4', message: 'names no configured compose', value: 'Nowhere' },
      {
        key: 'majors.8.stagingOrder',
        message: 'misses compose NFV',
        value: ['Plus', 'Extras', 'Rocky-devel', 'Rocky', 'Nowhere'],
      },
      { key: 'majors.8.composes.Extras.variants.1', message: 'is not a configured repo', value: 'Mystery' },
    ]);
  });
  it('the error message of a bad file lists the file, each key and the value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'releng-config-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ owner: { uid: -1, gid: 10005 }, stage: 'Prod!' }));
    expect(() => loadConfig(file, {})).toThrow(/2 problems\n {2}(owner\.uid|stage): .*\(got (-1|"Prod!")\)/);
  });
  it('a file that is not JSON is a ConfigError naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'releng-config-'));
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{ nope');
    expect(() => loadConfig(file, {})).toThrow(/broken\.json: 1 problem\n {2}\(file\): not JSON/);
  });
});
