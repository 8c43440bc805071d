import { fileURLToPath } from 'node:url';

/** This checkout's releng-host entry, which `releng … --step` runs directly for one host step. */
export const HOST_ENTRY = fileURLToPath(new URL('../../bin/releng-host.mjs', import.meta.url));
