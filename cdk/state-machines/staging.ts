import { Duration } from 'aws-cdk-lib';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { STAGING_LOCK_FORMAT } from '../../shared/lanes.ts';
import { jsonPathDefaults } from '../../shared/messages/defaults.ts';
import { StagingRequestV1 } from '../../shared/messages/staging-request.ts';
import {
  at,
  type PipelineKit,
  RELEASE_FIELDS,
  releaseParams,
  withDefaults,
} from '../constructs/pipeline-kit.ts';

/** Staging of one major holds this lock from the first sync to the staging-ready message. */
export const STAGING_LOCK_TTL = Duration.hours(36);

/** The lock staging and minor releases of one major share: `staging:<major>`, named into `$.lock.name`. */
export const STAGING_LOCK = { label: 'Staging lock', lockName: at('$.lock.name') } as const;

export function nameStagingLock(scope: Construct): sfn.Pass {
  return new sfn.Pass(scope, 'Name staging lock', {
    parameters: { name: sfn.JsonPath.format(STAGING_LOCK_FORMAT, sfn.JsonPath.stringAt('$.major')) },
    resultPath: '$.lock',
  });
}

/** verify-staging, its one-line result (digest, summary, revision) parsed into `$.verify.output`. */
export function verifyStaging(scope: Construct, kit: PipelineKit): sfn.IChainable {
  return kit.host(scope, 'Verify staging', 'verify-staging', releaseParams(), {
    resultPath: '$.verify',
    parseOutput: true,
  });
}

/** StagingReadyV1 built from the state after verify-staging. */
export const STAGING_READY = {
  version: 1,
  type: 'staging-ready',
  'major.$': '$.major',
  'channel.$': '$.channel',
  'revision.$': '$.verify.output.revision',
  'digest.$': '$.verify.output.digest',
  'summary.$': '$.verify.output.summary',
  'requestedBy.$': '$.requestedBy',
  'requestId.$': '$.requestId',
  'sigs.$': '$.sigs',
};

/** Defaults for the optional fields of the staging input. */
export const STAGING_REQUEST_DEFAULTS = jsonPathDefaults(StagingRequestV1);

/**
 * staging — input StagingRequestV1. Under the lock `staging:<major>`: sync-to-staging-sig per SIG,
 * sync-to-staging for each built compose in the major's configured staging order (the seed's:
 * Plus, Extras, Rocky-devel, …, Rocky last), prep-staging, apply-updateinfo, sign-repos,
 * verify-staging; then StagingReadyV1 with the manifest digest onto the promotion queue.
 */
export function stagingDefinition(
  scope: Construct,
  kit: PipelineKit,
  promotionQueue: sqs.IQueue,
): sfn.IChainable {
  const lock = STAGING_LOCK;
  const syncSigs = new sfn.Map(scope, 'Sync SIGs', {
    itemsPath: '$.sigs',
    maxConcurrency: 1,
    itemSelector: { 'major.$': '$.major', 'sig.$': '$$.Map.Item.Value' },
    resultPath: sfn.JsonPath.DISCARD,
  });
  syncSigs.itemProcessor(
    kit.host(scope, 'Sync SIG', 'sync-to-staging-sig', { major: at('$.major'), sig: at('$.sig') }),
  );

  const syncComposes = new sfn.Map(scope, 'Sync composes in order', {
    itemsPath: '$.stagingOrder',
    // One at a time: the order is the point (dependants first, the main compose last).
    maxConcurrency: 1,
    itemSelector: {
      ...RELEASE_FIELDS,
      'compose.$': '$$.Map.Item.Value',
      built: sfn.JsonPath.arrayContains(
        sfn.JsonPath.listAt('$.composes'),
        sfn.JsonPath.stringAt('$$.Map.Item.Value'),
      ),
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  const sync = kit.host(scope, 'Sync compose', 'sync-to-staging', {
    ...releaseParams(),
    compose: at('$.compose'),
  });
  syncComposes.itemProcessor(
    new sfn.Choice(scope, 'Was it built?')
      .when(sfn.Condition.booleanEquals('$.built', true), sync)
      .otherwise(new sfn.Pass(scope, 'Not built this time')),
  );

  const order = new sfn.Choice(scope, 'Staging order of the major');
  for (const [major, settings] of Object.entries(kit.config.majors)) {
    order.when(
      sfn.Condition.stringEquals('$.major', major),
      new sfn.Pass(scope, `Staging order of ${major}`, {
        result: sfn.Result.fromArray(settings.stagingOrder),
        resultPath: '$.stagingOrder',
      }).next(syncComposes),
    );
  }
  order.otherwise(
    new sfn.Fail(scope, 'Major not configured', {
      error: 'UnknownMajor',
      cause: 'the request names a major this stack has no config for',
    }),
  );

  const announce = new tasks.SqsSendMessage(scope, 'Announce staging ready', {
    queue: promotionQueue,
    messageBody: sfn.TaskInput.fromObject(STAGING_READY),
    resultPath: sfn.JsonPath.DISCARD,
    taskTimeout: sfn.Timeout.duration(Duration.seconds(30)),
  });

  syncComposes
    .next(kit.host(scope, 'Prep staging', 'prep-staging', releaseParams()))
    .next(kit.host(scope, 'Apply updateinfo', 'apply-updateinfo', releaseParams()))
    .next(kit.host(scope, 'Sign repos', 'sign-repos', { ...releaseParams(), tree: { value: 'staging' } }))
    .next(verifyStaging(scope, kit))
    .next(announce);

  const body = kit.guarded(
    scope,
    'Stage release',
    'staging',
    kit
      .checkEfs(scope, 'Check EFS')
      .next(kit.checkHost(scope, 'Check compose host', at('$.major')))
      .next(kit.acquire(scope, { ...lock, nowPath: '$.clock.now', ttl: STAGING_LOCK_TTL }))
      .next(syncSigs)
      .next(order),
    [kit.release(scope, { ...lock, label: 'Staging lock after failure' })],
  );
  return withDefaults(scope, 'Apply defaults', STAGING_REQUEST_DEFAULTS)
    .next(nameStagingLock(scope))
    .next(body)
    .next(kit.release(scope, lock))
    .next(new sfn.Succeed(scope, 'Staged'));
}
