import type { StagingReadyV1 } from '../../shared/messages/promotion.ts';

export const DIGEST = 'a'.repeat(64);
export const OTHER_DIGEST = 'b'.repeat(64);

export function stagingReady(overrides: Partial<StagingReadyV1> = {}): StagingReadyV1 {
  return {
    version: 1,
    type: 'staging-ready',
    major: '8',
    channel: 'stable',
    revision: '8.7',
    digest: DIGEST,
    summary: {
      composeIds: ['Rocky-8-updates-20261127.0', 'Extras-8-updates-20261127.1'],
      advisories: ['RLSA-2026:1234', 'RLBA-2026:0042'],
      packageCount: 1532,
      repoCount: 14,
      diff: { added: 37, changed: 12, removed: 3 },
    },
    requestedBy: 'jdoe',
    sigs: [],
    ...overrides,
  };
}
