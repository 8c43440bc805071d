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

/** A SIG release's StagingReadyV1: SIG trees have one channel; `sig` names the tree. */
const { 'channel.$': _channel, 'sigs.$': _sigs, ...SIG_FIELDS } = STAGING_READY;
const SIG_STAGING_READY = { ...SIG_FIELDS, channel: 'stable', sigs: [] };

/** Defaults for the optional fields of the staging input. */
export const STAGING_REQUEST_DEFAULTS = jsonPathDefaults(StagingRequestV1);

/** The SIGs of the request, in order: one Map over `$.sigs` with the major and requester. */
function eachSig(scope: Construct, id: string, resultPath: string): sfn.Map {
  return new sfn.Map(scope, id, {
    itemsPath: '$.sigs',
    maxConcurrency: 1,
    itemSelector: {
      'major.$': '$.major',
      'sig.$': '$$.Map.Item.Value',
      'requestedBy.$': '$.requestedBy',
      'requestId.$': '$.requestId',
    },
    resultPath,
  });
}

const SIG_PARAMS = { major: at('$.major'), sig: at('$.sig') };

/** sync-to-staging-sig per SIG, first in the seed's staging order. */
function syncSigs(scope: Construct, kit: PipelineKit): sfn.Map {
  const sync = eachSig(scope, 'Sync SIGs', sfn.JsonPath.DISCARD);
  sync.itemProcessor(kit.host(scope, 'Sync SIG', 'sync-to-staging-sig', SIG_PARAMS));
  return sync;
}

/**
 * Each SIG as a release of its own, once the release it builds on is staged (its repoclosure
 * uses that release's BaseOS and AppStream): sign-repos and verify-staging with `--sig` (its own
 * digest), collected into `$.sigReleases` as the StagingReadyV1 (with `sig`) each is announced with.
 */
function verifySigs(scope: Construct, kit: PipelineKit): sfn.Map {
  const verify = eachSig(scope, 'Sign and verify SIGs', '$.sigReleases');
  verify.itemProcessor(
    kit
      .host(scope, 'Sign SIG repos', 'sign-repos', SIG_PARAMS)
      .next(
        kit.host(scope, 'Verify SIG', 'verify-staging', SIG_PARAMS, {
          resultPath: '$.verify',
          parseOutput: true,
        }),
      )
      .next(
        new sfn.Pass(scope, 'SIG staging ready', {
          parameters: { ...SIG_STAGING_READY, 'sig.$': '$.sig' },
        }),
      ),
  );
  return verify;
}

/**
 * sync-to-staging of each built compose, one at a time in the major's configured staging order
 * (`order` picks it; `syncComposes` is where the chain goes on).
 */
function syncComposesInOrder(
  scope: Construct,
  kit: PipelineKit,
): { order: sfn.Choice; syncComposes: sfn.Map } {
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

  return { order, syncComposes };
}

/** StagingReadyV1 onto the promotion queue, then one per SIG release. */
function announceStagingReady(scope: Construct, promotionQueue: sqs.IQueue): sfn.Chain {
  const announce = new tasks.SqsSendMessage(scope, 'Announce staging ready', {
    queue: promotionQueue,
    messageBody: sfn.TaskInput.fromObject(STAGING_READY),
    resultPath: sfn.JsonPath.DISCARD,
    taskTimeout: sfn.Timeout.duration(Duration.seconds(30)),
  });

  // The SIG releases go out right after the release's, so one promotion batch takes them all.
  const announceSigs = new sfn.Map(scope, 'Announce SIGs staging ready', {
    itemsPath: '$.sigReleases',
    maxConcurrency: 1,
    resultPath: sfn.JsonPath.DISCARD,
  });
  announceSigs.itemProcessor(
    new tasks.SqsSendMessage(scope, 'Announce SIG staging ready', {
      queue: promotionQueue,
      messageBody: sfn.TaskInput.fromJsonPathAt('$'),
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(Duration.seconds(30)),
    }),
  );
  return sfn.Chain.start(announce).next(announceSigs);
}

/**
 * staging — input StagingRequestV1. Under the lock `staging:<major>`: sync-to-staging-sig per SIG,
 * sync-to-staging for each built compose in the major's configured staging order (the seed's:
 * Plus, Extras, Rocky-devel, …, Rocky last), prep-staging, apply-updateinfo, sign-repos,
 * verify-staging; then each SIG signed and verified as a release of its own (verifySigs); then
 * StagingReadyV1 with the manifest digest onto the promotion queue, and one per SIG.
 */
export function stagingDefinition(
  scope: Construct,
  kit: PipelineKit,
  promotionQueue: sqs.IQueue,
): sfn.IChainable {
  const lock = STAGING_LOCK;

  const { order, syncComposes } = syncComposesInOrder(scope, kit);
  const announce = announceStagingReady(scope, promotionQueue);

  syncComposes
    .next(kit.host(scope, 'Prep staging', 'prep-staging', releaseParams()))
    .next(kit.host(scope, 'Apply updateinfo', 'apply-updateinfo', releaseParams()))
    .next(kit.host(scope, 'Sign repos', 'sign-repos', { ...releaseParams(), tree: { value: 'staging' } }))
    .next(verifyStaging(scope, kit))
    .next(verifySigs(scope, kit))
    .next(announce);

  const body = kit.guarded(
    scope,
    'Stage release',
    'staging',
    kit
      .checkEfs(scope, 'Check EFS')
      .next(kit.checkHost(scope, 'Check compose host', at('$.major')))
      .next(kit.acquire(scope, { ...lock, nowPath: '$.clock.now', ttl: STAGING_LOCK_TTL }))
      .next(syncSigs(scope, kit))
      .next(order),
    [kit.release(scope, { ...lock, label: 'Staging lock after failure' })],
  );
  return withDefaults(scope, 'Apply defaults', STAGING_REQUEST_DEFAULTS)
    .next(nameStagingLock(scope))
    .next(body)
    .next(kit.release(scope, lock))
    .next(new sfn.Succeed(scope, 'Staged'));
}
