import { defineConfig } from 'vitest/config';
import LongRunningFirst from './test/setup/sequencer.ts';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests run real createrepo_c, rpmbuild, gpg, rsync and dnf; give them room.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Most files wait on child processes (rpmbuild, createrepo_c, gpg, dnf, releng-host), not on
    // a core: three at a time fill 2 cores where vitest's default (cores - 1) ran one file at a time.
    pool: 'forks',
    maxWorkers: 3,
    sequence: { sequencer: LongRunningFirst },
    setupFiles: ['test/setup/polyfill.ts'],
    // Builds the bin/ bundles once, before the files that spawn releng / releng-host start.
    globalSetup: ['test/setup/bundles.ts'],
  },
});
