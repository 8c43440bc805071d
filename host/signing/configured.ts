import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { HostOperationError } from '../framework/context.ts';

/** `majors.<m>.signingKeyId` of `major`, or of every configured major. */
export function signingKeyIds(config: ReleaseConfig, major?: string): { major: string; keyId: string }[] {
  const majors = major ? [major] : Object.keys(config.majors);
  return majors.map((m) => {
    const settings = config.majors[m];
    if (!settings)
      throw new HostOperationError(
        `--major ${m}: not a configured major (have ${Object.keys(config.majors).join(', ')})`,
      );
    return { major: m, keyId: settings.signingKeyId };
  });
}
