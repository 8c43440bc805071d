import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HOST_ENTRY = fileURLToPath(new URL('../../bin/releng-host.mjs', import.meta.url));

/**
 * Puts a development releng-host on a local host root where the SSM documents look for it
 * (`<root>/usr/local/bin/releng-host`, `<root>/etc/releng/releng.config.json`): a wrapper that
 * runs this checkout's TypeScript entry. Engine tests use it on small fixture stacks; sessions
 * and the demo install the bundled entry through the install document instead.
 */
export async function installDevHost(root: string, config: unknown = {}): Promise<string> {
  const bin = join(root, 'usr/local/bin/releng-host');
  await mkdir(join(root, 'usr/local/bin'), { recursive: true });
  await mkdir(join(root, 'etc/releng'), { recursive: true });
  await writeFile(join(root, 'etc/releng/releng.config.json'), `${JSON.stringify(config)}\n`);
  await writeFile(
    bin,
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(HOST_ENTRY)} "$@"\n`,
  );
  await chmod(bin, 0o755);
  return bin;
}

/** A stand-in releng-host: the shell script given, run for every operation (argv in "$@"). */
export async function installStubHost(root: string, script: string): Promise<void> {
  const bin = join(root, 'usr/local/bin/releng-host');
  await mkdir(join(root, 'usr/local/bin'), { recursive: true });
  await writeFile(bin, `#!/bin/bash\n${script}\n`);
  await chmod(bin, 0o755);
}

/** A host whose compose runs until it is killed (its pid in ROOT/compose.pid); the rest succeed. */
export const SLEEPING_COMPOSE = [
  'if [ "$1" = compose ]; then echo $$ > "$RELENG_HOST_ROOT/compose.pid"; sleep 120; fi',
  'echo "{\\"operation\\":\\"$1\\",\\"ok\\":true}"',
].join('\n');
