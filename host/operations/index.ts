import type { HostOperationName } from '../../shared/operations.ts';
import type { HostOperation } from '../framework/operation.ts';
import { fileLists } from './file-lists.ts';

/** Every implemented operation, by catalogue name. Add one line per operation module. */
export const OPERATIONS: Partial<Record<HostOperationName, HostOperation>> = {
  'file-lists': fileLists,
};
