import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ExecResult, execFile } from '../../host/framework/exec.ts';

/**
 * Test helpers around real RPM tools. Building packages and keys lives in cli/demo/rpm-tools.ts
 * (the demo needs it too); this adds the client side: a dnf that reads published repos the way
 * a Rocky machine would, with its own installroot, cache and repo files.
 */
export {
  type BuiltRpm,
  buildRpm,
  exportPublicKey,
  generateSigningKey,
  nvr,
  type RpmSpec,
  type SigningKey,
  signRpms,
} from '../../cli/demo/rpm-tools.ts';

export interface DnfRepo {
  id: string;
  /** Directory holding `repodata/`. */
  path: string;
  /** ASCII-armoured public key that signed the packages and repomd.xml. */
  gpgKey: string;
  /** Default true: verify repomd.xml.asc. */
  repoGpgCheck?: boolean;
}

export interface DnfClient {
  dir: string;
  /** Runs `dnf -y -q <args>` against the configured repos; rejects with dnf's message on failure. */
  run(args: string[], options?: { okCodes?: number[] }): Promise<ExecResult>;
  /** Drops cached metadata, so a republished repo is read afresh. */
  refresh(): Promise<void>;
}

/**
 * A dnf client in `dir`: `--installroot`, its own reposdir and cachedir, el8 module platform,
 * gpgcheck=1 and repo_gpgcheck=1 against file:// baseurls.
 */
export async function dnfClient(dir: string, repos: DnfRepo[], releasever = '8'): Promise<DnfClient> {
  const reposDir = join(dir, 'repos.d');
  await mkdir(reposDir, { recursive: true });
  await mkdir(join(dir, 'root'), { recursive: true });
  await writeFile(
    join(dir, 'dnf.conf'),
    '[main]\ngpgcheck=1\ninstallonly_limit=3\nclean_requirements_on_remove=True\n',
  );
  for (const repo of repos) {
    const text = [
      `[${repo.id}]`,
      `name=${repo.id}`,
      `baseurl=${pathToFileURL(repo.path).href}`,
      'enabled=1',
      'gpgcheck=1',
      `repo_gpgcheck=${repo.repoGpgCheck === false ? 0 : 1}`,
      `gpgkey=${pathToFileURL(repo.gpgKey).href}`,
      '',
    ].join('\n');
    await writeFile(join(reposDir, `${repo.id}.repo`), text);
  }
  const base = [
    'dnf',
    '-y',
    '-q',
    '-c',
    join(dir, 'dnf.conf'),
    `--installroot=${join(dir, 'root')}`,
    `--releasever=${releasever}`,
    `--setopt=reposdir=${reposDir}`,
    `--setopt=cachedir=${join(dir, 'cache')}`,
    `--setopt=module_platform_id=platform:el${releasever}`,
    // dnf-plugins-core's local plugin (enabled by Debian's package) adds an unsigned repo
    // of installed packages that fails every gpgcheck=1 install.
    '--disableplugin=local',
  ];
  const run = (args: string[], options: { okCodes?: number[] } = {}) => execFile([...base, ...args], options);
  return {
    dir,
    run,
    async refresh() {
      await run(['clean', 'all']);
    },
  };
}
