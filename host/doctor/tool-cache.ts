import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { execFile } from '../framework/exec.ts';
import { writeFileAtomic } from '../framework/fsutil.ts';

/**
 * doctor's tool rows, remembered per host for a few minutes. Probing starts every tool, and
 * dnf's two probes start Python (a second or more on a loaded host): a pipeline checks the host
 * before each of its runs, so one demo probed dnf eight times. A remembered row is used only
 * while what it was probed from is unchanged: the executable found on PATH (path, inode, size,
 * mtime) and, for a dnf plugin, the plugin's module file. Anything else is probed again.
 */

/** How long a probed row stands: short, so a host change shows up within minutes at worst. */
export const TOOL_CACHE_SECONDS = 600;

/** `<root>/var/lib/releng/doctor/tools.json` */
export const toolCacheFile = (root: string) => join(root, 'var', 'lib', 'releng', 'doctor', 'tools.json');

export interface ProbeSource {
  /** The command whose executable the row depends on. */
  command: string;
  /** A dnf plugin the row depends on (its module file under dnf's plugin path). */
  dnfPlugin?: string;
}

interface Remembered<Row> {
  fingerprint: string;
  checkedAt: number;
  row: Row;
  /** The plugin module file found when probed (dnf plugins only). */
  pluginFile?: string;
}

type CacheFile<Row> = { version: 1; rows: Record<string, Remembered<Row>> };

/** The executable `command` runs as on this PATH, the way a shell finds it; undefined if none. */
export async function findOnPath(command: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const dirs = command.includes('/') ? [''] : (env.PATH ?? '').split(delimiter).filter(isAbsolute);
  for (const dir of dirs) {
    const candidate = dir ? join(dir, command) : command;
    const info = await stat(candidate).catch(() => undefined);
    if (!info?.isFile()) continue;
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return undefined;
}

async function fileStamp(path: string): Promise<string> {
  const info = await stat(path).catch(() => undefined);
  return info ? `${path} ${info.ino} ${info.size} ${info.mtimeMs}` : `${path} absent`;
}

async function executableStamp(command: string, env: NodeJS.ProcessEnv): Promise<string> {
  const executable = await findOnPath(command, env);
  return executable ? await fileStamp(executable) : `${command} absent`;
}

const fingerprintOf = (executable: string, plugin: string | undefined) =>
  plugin ? `${executable}\n${plugin}` : executable;

/**
 * Where dnf loads `plugin` from: asked of the interpreter dnf's own first line names (not the
 * python3 on PATH, which may be another one without dnf). Undefined when that cannot be told,
 * and then the row is never remembered.
 */
async function dnfPluginFile(plugin: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const dnf = await findOnPath('dnf', env);
  if (!dnf) return undefined;
  const firstLine = (await readFile(dnf, 'utf8').catch(() => '')).split('\n')[0] ?? '';
  const interpreter = /^#!\s*(\/\S+)/.exec(firstLine)?.[1];
  if (!interpreter) return undefined;
  const code = `import os, dnf.const; print(os.path.join(dnf.const.PLUGINPATH, ${JSON.stringify(`${plugin}.py`)}))`;
  const located = await execFile([interpreter, '-c', code], { env }).catch(() => undefined);
  const file = located?.stdout.trim();
  return file && isAbsolute(file) && !file.includes('\n') ? file : undefined;
}

/**
 * Each named probe's row: remembered where its sources are unchanged and it is younger than
 * TOOL_CACHE_SECONDS, else probed (all in parallel) and remembered when `remember` is set.
 */
export async function probeWithCache<Row>(
  probes: Array<{ name: string; source: ProbeSource; probe: () => Promise<Row> }>,
  options: { root: string; env: NodeJS.ProcessEnv; now: number; remember: boolean },
): Promise<Row[]> {
  const file = toolCacheFile(options.root);
  const cached = await readFile(file, 'utf8')
    .then((text) => JSON.parse(text) as CacheFile<Row>)
    .then((parsed) => (parsed.version === 1 && parsed.rows ? parsed.rows : {}))
    .catch(() => ({}) as Record<string, Remembered<Row>>);
  const fresh: Record<string, Remembered<Row>> = {};
  const rows = await Promise.all(
    probes.map(async ({ name, source, probe }) => {
      const known = Object.hasOwn(cached, name) ? cached[name] : undefined;
      // Stamped before probing: a tool replaced meanwhile is probed again next time.
      const executable = await executableStamp(source.command, options.env);
      const age = known ? options.now - known.checkedAt : -1;
      if (known && age >= 0 && age < TOOL_CACHE_SECONDS * 1000) {
        const plugin = known.pluginFile ? await fileStamp(known.pluginFile) : undefined;
        if (known.fingerprint === fingerprintOf(executable, plugin)) {
          fresh[name] = known;
          return known.row;
        }
      }
      const [row, pluginFile] = await Promise.all([
        probe(),
        source.dnfPlugin ? dnfPluginFile(source.dnfPlugin, options.env) : undefined,
      ]);
      if (!source.dnfPlugin || pluginFile) {
        fresh[name] = {
          fingerprint: fingerprintOf(executable, pluginFile ? await fileStamp(pluginFile) : undefined),
          checkedAt: options.now,
          row,
          ...(pluginFile ? { pluginFile } : {}),
        };
      }
      return row;
    }),
  );
  if (options.remember) {
    const content: CacheFile<Row> = { version: 1, rows: fresh };
    // A cache that cannot be written only costs the next run its probes.
    await writeFileAtomic(file, `${JSON.stringify(content)}\n`).catch(() => undefined);
  }
  return rows;
}
