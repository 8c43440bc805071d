import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests run real createrepo_c, rpmbuild, gpg, rsync and dnf; give them room.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    setupFiles: ['test/setup/polyfill.ts'],
    // Builds the bin/ bundles once, before the files that spawn releng / releng-host start.
    globalSetup: ['test/setup/bundles.ts'],
  },
});
