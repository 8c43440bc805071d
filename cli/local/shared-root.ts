import { statSync } from 'node:fs';

/**
 * A root shared by a group of release engineers (one requests, another approves) is made
 * group-writable by its owner (`chgrp releng ROOT && chmod -R g+w ROOT && chmod g+s ROOT`). Every
 * state write replaces its file with a new one (write, then rename), created with this process's
 * umask; under the common 022 the next engineer could no longer write it. So when the root's
 * directory is group-writable, new files and directories under it are made group-writable too.
 * Returns whether it did.
 */
export function shareWithGroupIfRootIs(root: string): boolean {
  const mode = statSync(root, { throwIfNoEntry: false })?.mode;
  if (mode === undefined || (mode & 0o020) === 0) return false;
  process.umask(process.umask() & ~0o020);
  return true;
}
