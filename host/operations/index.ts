import type { HostOperationName } from '../../shared/operations.ts';
import type { HostOperation } from '../framework/operation.ts';
import { applyUpdateinfo } from './apply-updateinfo.ts';
import { compose } from './compose.ts';
import { doctor } from './doctor.ts';
import { fileLists } from './file-lists.ts';
import { gaPublish } from './ga-publish.ts';
import { installSigningKey } from './install-signing-key.ts';
import { minorRelease } from './minor-release.ts';
import { prepStaging } from './prep-staging.ts';
import { rollback } from './rollback.ts';
import { signReposOperation } from './sign-repos.ts';
import { syncToProd } from './sync-to-prod.ts';
import { syncToStaging } from './sync-to-staging.ts';
import { syncToStagingSig } from './sync-to-staging-sig.ts';
import { torrents } from './torrents.ts';
import { verifyStaging } from './verify-staging.ts';

/** Every operation of the catalogue, by name: one line per operation module, none missing. */
export const OPERATIONS: { [K in HostOperationName]: HostOperation<K> } = {
  'file-lists': fileLists,
  compose,
  'apply-updateinfo': applyUpdateinfo,
  'prep-staging': prepStaging,
  'sign-repos': signReposOperation,
  'verify-staging': verifyStaging,
  'sync-to-staging': syncToStaging,
  'sync-to-staging-sig': syncToStagingSig,
  'sync-to-prod': syncToProd,
  rollback,
  'minor-release': minorRelease,
  torrents,
  'ga-publish': gaPublish,
  'install-signing-key': installSigningKey,
  doctor,
};
