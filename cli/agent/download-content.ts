import { chmod, copyFile, mkdir, readdir, rename, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, posix, relative } from 'node:path';
import { errorMessage } from '../../shared/errors.ts';
import type { LocalS3 } from './local-s3.ts';

/** Where a step's paths land: the host root stands for `/`. */
export interface DownloadContext {
  /** The local directory that stands for the host's `/`. */
  hostRoot: string;
  /** The command's orchestration directory as the host sees it (relative destinations go under its downloads/). */
  orchestrationDir: string;
  s3: LocalS3;
}

/** The agent's default destination when destinationPath is empty. */
const DOWNLOAD_ROOT = '/var/lib/amazon/ssm/download';

/** The host's path `hostPath` (absolute) under the local host root. */
export function underRoot(hostRoot: string, hostPath: string): string {
  const normal = posix.normalize(hostPath);
  if (!normal.startsWith('/')) throw new Error(`not an absolute path: ${JSON.stringify(hostPath)}`);
  return join(hostRoot, normal) + (hostPath.endsWith('/') && normal !== '/' ? '/' : '');
}

const exists = (path: string) =>
  stat(path).then(
    (s) => s,
    () => undefined,
  );

/**
 * `aws:downloadContent` with `sourceType: S3`, as the agent does it. A single object goes to
 * `destinationPath` itself when that path does not exist and has no trailing `/` (saved as a
 * FILE of that name), and inside it when it ends in `/` or is an existing directory. A folder
 * (key ending in `/`) is copied below `destinationPath`, keeping its subfolders. A relative
 * destination is under the command's `downloads/` directory. Files get mode 0700, as the agent
 * sets. Returns the host path the content went to; throws with the agent's reason on failure.
 */
export async function downloadContent(
  inputs: Record<string, unknown>,
  context: DownloadContext,
): Promise<string> {
  const sourceType = inputs.sourceType;
  if (sourceType !== 'S3') {
    throw new Error(`sourceType ${JSON.stringify(sourceType)} is not supported by the local agent (S3 only)`);
  }
  const raw = inputs.sourceInfo;
  let info: unknown;
  try {
    info = typeof raw === 'string' ? JSON.parse(raw) : raw;
  } catch (err) {
    throw new Error(`Source Info could not be unmarshalled for source type S3: ${errorMessage(err)}`);
  }
  const sourcePath =
    typeof (info as { path?: unknown })?.path === 'string' ? (info as { path: string }).path.trim() : '';
  if (!sourcePath) throw new Error('S3 source path in SourceInfo must be specified');

  const destination = typeof inputs.destinationPath === 'string' ? inputs.destinationPath : '';
  const hostDest = !destination
    ? DOWNLOAD_ROOT
    : isAbsolute(destination)
      ? destination
      : `${posix.join(context.orchestrationDir, 'downloads')}/${destination}`;
  const localDest = underRoot(context.hostRoot, hostDest);
  const source = context.s3.pathOf(sourcePath);

  const sourceStat = await exists(source);
  if (!sourceStat) throw new Error(`S3 object ${sourcePath} does not exist (local S3: ${source})`);
  if (sourceStat.isDirectory()) {
    for (const file of await filesUnder(source)) {
      await place(join(source, file), join(localDest, file));
    }
    return hostDest;
  }
  const destStat = await exists(localDest);
  const target =
    hostDest.endsWith('/') || destStat?.isDirectory()
      ? join(localDest, basename(source))
      : localDest.replace(/\/$/, '');
  await place(source, target);
  return hostDest;
}

async function place(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  const temp = `${to}.download-${process.pid}`;
  await copyFile(from, temp);
  await chmod(temp, 0o700);
  await rename(temp, to);
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}
