import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { LANE_LOCK_FORMAT } from '../../shared/lanes.ts';
import { ComposeRequestV1 } from '../../shared/messages/compose-request.ts';
import { jsonPathDefaults } from '../../shared/messages/defaults.ts';
import { at, type PipelineKit, RELEASE_FIELDS } from '../constructs/pipeline-kit.ts';

/** Composes that run at once; each takes its own lane lock. */
export const COMPOSE_CONCURRENCY = 2;
/** A lane lock outlives the longest compose (48 h) so only a dead execution's lock expires. */
export const LANE_LOCK_TTL = Duration.hours(50);

/**
 * Map over `$.composes` (ComposeRequestV1's list): per compose, take the lane lock
 * `lane:<major>/<compose>`, run releng-host compose, release the lock, also when the compose
 * fails (the error is then rethrown). Needs `$.clock.now` and `$.composeDefaults`.
 */
export function composeEach(scope: Construct, kit: PipelineKit): sfn.Map {
  const map = new sfn.Map(scope, 'Compose each', {
    itemsPath: '$.composes',
    maxConcurrency: COMPOSE_CONCURRENCY,
    itemSelector: {
      ...RELEASE_FIELDS,
      'now.$': '$.clock.now',
      compose: sfn.JsonPath.jsonMerge(
        sfn.JsonPath.objectAt('$.composeDefaults'),
        sfn.JsonPath.objectAt('$$.Map.Item.Value'),
      ),
      lockName: sfn.JsonPath.format(
        LANE_LOCK_FORMAT,
        sfn.JsonPath.stringAt('$.major'),
        sfn.JsonPath.stringAt('$$.Map.Item.Value.name'),
      ),
    },
    resultSelector: { 'composes.$': '$[*].compose' },
    resultPath: '$.built',
  });
  const lock = { label: 'Lane lock', lockName: at('$.lockName') } as const;
  const take = kit.acquire(scope, { ...lock, nowPath: '$.now', ttl: LANE_LOCK_TTL });
  const compose = kit.host(scope, 'Compose', 'compose', {
    major: at('$.major'),
    channel: at('$.channel'),
    revision: at('$.revision'),
    compose: at('$.compose.name'),
    kind: at('$.compose.kind'),
    resume: at('$.compose.resumeComposeId'),
  });
  const rethrow = new sfn.Fail(scope, 'Compose failed', {
    errorPath: '$.failure.Error',
    causePath: '$.failure.Cause',
  });
  const releaseAfterFailure = kit.release(scope, {
    label: 'Lane lock after failure',
    lockName: at('$.lockName'),
  });
  compose.addCatch(releaseAfterFailure.next(rethrow), { errors: ['States.ALL'], resultPath: '$.failure' });
  map.itemProcessor(take.next(compose).next(kit.release(scope, lock)));
  return map;
}

/**
 * ComposeRequestV1's defaults for JSONPath, and `composeDefaults`, merged under each compose of
 * the list (its optional resumeComposeId).
 */
export const COMPOSE_REQUEST_DEFAULTS = {
  ...jsonPathDefaults(ComposeRequestV1),
  composeDefaults: { resumeComposeId: '' },
};
