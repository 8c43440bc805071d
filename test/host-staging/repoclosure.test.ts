import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from '../../host/framework/exec.ts';
import { checkClosure, parseRepoclosure, repoclosureArgv } from '../../host/repo/repoclosure.ts';
import { buildConfig } from '../../shared/config/load.ts';
import { closureSets } from '../../shared/repoclosure.ts';
import { operationContext } from '../host-production/run.ts';
import { buildRpm, type RpmSpec } from '../support/rpm.ts';

/**
 * The dependency-closure check on real repos: packages built with rpmbuild, repodata written by
 * createrepo_c, and dnf repoclosure as the solver. Each case stages its own tree of
 * `<repo>/<arch>/os` dirs, as a staged release holds them.
 */
describe('repoclosure over the repo sets of a staged tree', () => {
  let dir: string;
  const config = buildConfig();
  const settings = { ...config.majors['8']!, arches: ['x86_64', 'aarch64'] };
  const built = new Map<string, string>();

  const rpm = async (spec: RpmSpec) => {
    const key = JSON.stringify(spec);
    const work = join(dir, 'rpmbuild', String(built.size));
    if (!built.has(key)) built.set(key, (await buildRpm(spec, work)).binaries[0]!);
    return built.get(key)!;
  };
  /** A tree of repos: `BaseOS/x86_64/os` -> packages; createrepo_c writes each repo's metadata. */
  const tree = async (name: string, repos: Record<string, RpmSpec[]>) => {
    const root = join(dir, name);
    for (const [rel, specs] of Object.entries(repos)) {
      await mkdir(join(root, rel, 'Packages'), { recursive: true });
      for (const spec of specs) {
        const path = await rpm(spec);
        await copyFile(path, join(root, rel, 'Packages', basename(path)));
      }
      await execFile(['createrepo_c', '-q', join(root, rel)]);
    }
    return root;
  };
  const check = async (root: string, env?: NodeJS.ProcessEnv) => {
    const ctx = operationContext('verify-staging', dir, ['--major', '8', '--dry-run'], {
      config,
      ...(env ? { env } : {}),
    });
    const scratch = await mkdtemp(join(dir, 'scratch-'));
    return checkClosure(ctx, settings, '8', root, Object.keys(layout), scratch);
  };
  let layout: Record<string, RpmSpec[]> = {};

  const lib = (arch: string): RpmSpec => ({
    name: 'libdemo',
    version: '1',
    release: '1',
    arch,
    provides: ['libdemo.so.1()(64bit)'],
  });
  const app = (arch: string): RpmSpec => ({
    name: 'demo-app',
    version: '1',
    release: '1',
    arch,
    requires: ['libdemo.so.1()(64bit)'],
  });
  // noarch, in AppStream, needs a package only BaseOS has.
  const docs: RpmSpec = {
    name: 'demo-docs',
    version: '1',
    release: '1',
    arch: 'noarch',
    requires: ['demo-app'],
  };
  const addon: RpmSpec = {
    name: 'demo-addon',
    version: '1',
    release: '1',
    arch: 'noarch',
    requires: ['libdemo'],
  };
  const closedLayout = (): Record<string, RpmSpec[]> => ({
    'BaseOS/x86_64/os': [lib('x86_64'), app('x86_64')],
    'AppStream/x86_64/os': [docs],
    'extras/x86_64/os': [addon],
    'BaseOS/aarch64/os': [lib('aarch64'), app('aarch64')],
    'AppStream/aarch64/os': [docs],
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'releng-repoclosure-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('closes the base repos together and each add-on against them', () => {
    expect(closureSets(settings, 'x86_64', ['extras', 'AppStream', 'BaseOS', 'PowerTools'])).toEqual([
      { arch: 'x86_64', repos: ['BaseOS', 'AppStream'], check: ['BaseOS', 'AppStream'] },
      { arch: 'x86_64', repos: ['BaseOS', 'AppStream', 'PowerTools'], check: ['PowerTools'] },
      { arch: 'x86_64', repos: ['BaseOS', 'AppStream', 'extras'], check: ['extras'] },
    ]);
  });

  it('passes a closed tree, noarch packages resolved from another repo of the set', async () => {
    layout = closedLayout();
    const root = await tree('closed', layout);
    const { report, problems } = await check(root);
    expect(problems).toEqual([]);
    expect(report.status).toBe('passed');
    expect(report.sets.map((s) => `${s.arch}:${s.checked.join('+')}`)).toEqual([
      'x86_64:BaseOS+AppStream',
      'x86_64:extras',
      'aarch64:BaseOS+AppStream',
    ]);
  }, 60_000);

  it('loads repos under a path with a space in it (dnf takes them as file: URLs)', async () => {
    // dnf reads a plain `--repofrompath` path with a space as nothing ("Cannot download repomd.xml").
    layout = closedLayout();
    const root = await tree('release work', layout);
    const argv = repoclosureArgv(
      { arch: 'x86_64', repos: ['BaseOS'], check: ['BaseOS'] },
      { BaseOS: join(root, 'BaseOS/x86_64/os') },
      '8',
      join(dir, 'argv-scratch'),
    );
    expect(argv).toContain(`--repofrompath=BaseOS,file://${dir}/release%20work/BaseOS/x86_64/os`);
    const { report, problems } = await check(root);
    expect(problems).toEqual([]);
    expect(report.status).toBe('passed');
  }, 60_000);

  it('fails a package whose requirements nothing provides, naming the package and each capability', async () => {
    layout = closedLayout();
    layout['AppStream/x86_64/os']!.push({
      name: 'demo-broken',
      version: '1',
      release: '1',
      arch: 'x86_64',
      requires: ['libmissing.so.1()(64bit)', 'nonexistent-pkg'],
    });
    const root = await tree('missing', layout);
    const { report, problems } = await check(root);
    expect(report.status).toBe('failed');
    expect(problems).toEqual([
      'repoclosure x86_64: demo-broken-1-1.x86_64 in AppStream requires libmissing.so.1()(64bit), nonexistent-pkg, which nothing in BaseOS, AppStream provides',
    ]);
  }, 60_000);

  it('fails a requirement that only a package of the other arch provides', async () => {
    layout = closedLayout();
    // The aarch64 build of libdemo misplaced in the x86_64 repo must not satisfy x86_64 packages.
    layout['BaseOS/x86_64/os'] = [lib('aarch64'), app('x86_64')];
    const root = await tree('other-arch', layout);
    const { problems } = await check(root);
    expect(problems).toContain(
      'repoclosure x86_64: demo-app-1-1.x86_64 in BaseOS requires libdemo.so.1()(64bit), which nothing in BaseOS, AppStream provides',
    );
    expect(problems.join('\n')).not.toContain('aarch64: demo-app');
  }, 60_000);

  it('fails an add-on that needs another add-on: extras is closed against the base only', async () => {
    layout = closedLayout();
    layout['PowerTools/x86_64/os'] = [{ name: 'demo-devel', version: '1', release: '1', arch: 'noarch' }];
    layout['extras/x86_64/os'] = [{ ...addon, requires: ['demo-devel'] }];
    const root = await tree('addons', layout);
    const { problems } = await check(root);
    expect(problems).toEqual([
      'repoclosure x86_64: demo-addon-1-1.noarch in extras requires demo-devel, which nothing in BaseOS, AppStream, extras provides',
    ]);
  }, 60_000);

  it('counts the packages of every module stream, not only enabled ones (modular filtering off)', async () => {
    layout = closedLayout();
    // demo-modlib 2.0 is the artifact of stream 2 of a module with no default stream: with
    // modular filtering on, dnf would hide it and demo-docs2's requirement would look unmet.
    layout['AppStream/x86_64/os']!.push(
      { name: 'demo-modlib', version: '2.0', release: '1', arch: 'noarch' },
      { name: 'demo-docs2', version: '1', release: '1', arch: 'noarch', requires: ['demo-modlib'] },
    );
    const root = await tree('modular', layout);
    const modules = join(dir, 'modules.yaml');
    await writeFile(
      modules,
      [
        '---',
        'document: modulemd',
        'version: 2',
        'data:',
        '  name: demo-modlib',
        '  stream: "2"',
        '  version: 1',
        '  context: c0ffee42',
        '  arch: noarch',
        '  summary: Demo module',
        '  description: A stream no one enabled.',
        '  license:',
        '    module: [MIT]',
        '  dependencies:',
        '  - requires:',
        '      platform: [el8]',
        '  artifacts:',
        '    rpms:',
        '    - demo-modlib-0:2.0-1.noarch',
        '...',
        '',
      ].join('\n'),
    );
    await execFile(['modifyrepo_c', '--mdtype=modules', modules, join(root, 'AppStream/x86_64/os/repodata')]);
    const { report, problems } = await check(root);
    expect(problems).toEqual([]);
    expect(report.status).toBe('passed');
  }, 60_000);

  it('fails, never passes, when the solver is missing', async () => {
    layout = closedLayout();
    const root = await tree('no-solver', layout);
    const empty = await mkdtemp(join(dir, 'empty-path-'));
    const { report, problems } = await check(root, { ...process.env, PATH: empty });
    expect(report.status).toBe('solver missing');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^dnf repoclosure: dnf is not installed or not on PATH/);
  }, 60_000);

  it("reads dnf repoclosure's report", () => {
    const stdout = [
      'package: demo-broken-1-1.x86_64 from AppStream',
      '  unresolved deps (2):',
      '    libmissing.so.1()(64bit)',
      '    (a or b)',
      'package: demo-x-1-1.noarch from extras',
      '  unresolved deps (1):',
      '    nonexistent-pkg >= 2',
    ].join('\n');
    expect(parseRepoclosure(stdout)).toEqual([
      {
        package: 'demo-broken-1-1.x86_64',
        repo: 'AppStream',
        missing: ['libmissing.so.1()(64bit)', '(a or b)'],
      },
      { package: 'demo-x-1-1.noarch', repo: 'extras', missing: ['nonexistent-pkg >= 2'] },
    ]);
  });
});
