/**
 * Where the install association puts releng-host, as plain values: the local engine reads them
 * on every session, and must not load aws-cdk-lib (most of a second of CPU) to do so.
 */

/** Where the install association puts the host entry and the stack's config. */
export const HOST_INSTALL = {
  bin: '/usr/local/bin/releng-host',
  bundle: '/usr/local/lib/releng/releng-host.mjs',
  config: '/etc/releng/releng.config.json',
} as const;

/** The file name of the bundle in its asset. */
export const HOST_BUNDLE_FILE = 'releng-host.mjs';
