import aslValidator from 'asl-validator';
import { beforeAll, describe, expect, it } from 'vitest';
import { PIPELINE_IDS } from '../../cdk/stacks/releng-stack.ts';
import { aslFromTemplate } from '../../cli/engine/template-asl.ts';
import { type ApprovalResultV1, StagingReadyV1 } from '../../shared/messages/index.ts';
import { type HostCommand, type HostOutcome, PipelineWorld } from './pipeline-world.ts';
import { type CfnTemplate, synth } from './synth.ts';

const NOW = 1_800_000_000;
const DIGEST_8 = 'a'.repeat(64);
const DIGEST_9 = 'b'.repeat(64);

const preflight = () => ({ version: 1, fileSystems: [], nowEpochSeconds: NOW });

function stagingReady(major: string, digest: string) {
  return {
    version: 1,
    type: 'staging-ready',
    major,
    channel: 'stable',
    revision: major === '8' ? '8.7' : '9.1',
    digest,
    summary: {
      composeIds: [],
      advisories: [],
      packageCount: 3,
      repoCount: 1,
      diff: { added: 1, changed: 0, removed: 0 },
    },
    requestedBy: 'kojira',
    sigs: [],
  };
}

function decision(payload: any, outcome: ApprovalResultV1['outcome'], reason?: string): ApprovalResultV1 {
  return {
    version: 1,
    outcome,
    approvalId: payload.approvalId,
    digest: payload.request.digest,
    decidedBy: 'jdoe',
    decidedAt: '2027-01-01T00:00:00Z',
    ...(reason ? { reason } : {}),
  };
}

/** What the promotion-events Lambda does on a rejection: SendTaskFailure(ApprovalRejected, result). */
function reject(payload: any, reason: string): never {
  throw Object.assign(new Error(JSON.stringify(decision(payload, 'REJECTED', reason))), {
    name: 'ApprovalRejected',
  });
}

async function failureOf(run: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await run;
  } catch (err) {
    const cause = (err as { cause?: { name?: string; message?: string } }).cause ?? (err as Error);
    return { name: String(cause.name), message: String(cause.message) };
  }
  throw new Error('the execution succeeded');
}

/** The host commands that do the pipeline's work: everything after the doctor check. */
const work = (world: PipelineWorld) => world.commands.filter((c) => c.operation !== 'doctor');
const ops = (world: PipelineWorld) => work(world).map((c) => c.operation);
const ok: (c: HostCommand) => HostOutcome = () => ({ status: 'Success' });

let template: CfnTemplate;
beforeAll(() => {
  template = synth().json;
});

describe('state machine definitions', () => {
  it.each(Object.values(PIPELINE_IDS))('%s validates with asl-validator and uses JSONPath only', (id) => {
    const asl = aslFromTemplate(template, id);
    const { isValid, errorsText } = aslValidator(asl, { checkArn: true, checkPaths: true });
    expect(isValid, errorsText('\n')).toBe(true);
    const text = JSON.stringify(asl);
    expect(text).not.toContain('JSONata');
    expect(text).not.toContain('"Arguments"');
    expect(text).not.toContain('"Assign"');
    // A key CDK suffixes twice is silently valid ASL that reads a literal instead of a path.
    expect(text).not.toContain('.$.$');
  });
});

describe('compose pipeline', () => {
  const request = {
    version: 1,
    major: '8',
    composes: [
      { name: 'Rocky', kind: 'updates' },
      { name: 'Extras', kind: 'updates' },
    ],
    requestedBy: 'kojira',
    reason: 'tag event',
    requestId: 'req-1',
  };

  it('waits out the quiet window the request names before it checks EFS or takes a lane lock', () => {
    const states = aslFromTemplate(template, PIPELINE_IDS.compose).States as Record<
      string,
      Record<string, unknown>
    >;
    expect(states['Apply defaults']!.Next).toBe('Quiet window');
    expect(states['Quiet window']).toMatchObject({ Type: 'Wait', SecondsPath: '$.quietSeconds' });
    expect(JSON.stringify(states['Quiet window'])).not.toContain('Lock');
  });

  it('checks the compose host (doctor) for the requested major before any other host work', async () => {
    const world = new PipelineWorld(template, ok, { 'efs-preflight': preflight });
    await world.run(PIPELINE_IDS.compose, request);
    expect(world.commands[0]).toEqual({ operation: 'doctor', parameters: { major: '8' } });
    expect(world.commands.filter((c) => c.operation === 'doctor')).toHaveLength(1);
  });

  it('stops before any lock or compose when the host check fails', async () => {
    const missing = '{"ok":false,"error":"tree koji (/mnt/koji) is not mounted; the EFS mount failed?"}';
    const world = new PipelineWorld(
      template,
      (c) =>
        c.operation === 'doctor' ? { status: 'Failed', exitCode: 1, stdout: missing } : { status: 'Success' },
      { 'efs-preflight': preflight },
    );
    const failure = await failureOf(world.run(PIPELINE_IDS.compose, request));
    expect(failure.name).toBe('HostCommandFailed');
    expect(String(failure.message)).toContain(
      'releng-host doctor: Failed (exit 1): tree koji (/mnt/koji) is not mounted',
    );
    expect(work(world)).toEqual([]);
    expect(world.locksTaken).toEqual([]);
  });

  it('composes each under its lane lock, releases the locks and starts staging with what was built', async () => {
    const world = new PipelineWorld(template, ok, { 'efs-preflight': preflight });
    await world.run(PIPELINE_IDS.compose, request, 'compose-1');
    expect(
      work(world)
        .map((c) => c.parameters)
        .sort((a, b) => a.compose!.localeCompare(b.compose!)),
    ).toEqual([
      { major: '8', channel: 'stable', revision: '', compose: 'Extras', kind: 'updates', resume: '' },
      { major: '8', channel: 'stable', revision: '', compose: 'Rocky', kind: 'updates', resume: '' },
    ]);
    expect(world.locksTaken.sort()).toEqual(['LOCK#lane:8/Extras', 'LOCK#lane:8/Rocky']);
    expect(await world.heldLocks()).toEqual([]);
    expect(world.startedExecutions).toHaveLength(1);
    expect(world.startedExecutions[0]!.name).toBe('compose-1-staging');
    expect(world.startedExecutions[0]!.input).toMatchObject({
      major: '8',
      composes: ['Rocky', 'Extras'],
      sigs: [],
    });
  });

  it("on a failing compose releases every lane lock, notifies with the host's failure line and fails", async () => {
    const pungiFailed = '{"ok":false,"error":"pungi-koji exited 1: see logs/global/pungi.global.log"}';
    const world = new PipelineWorld(
      template,
      (c) =>
        c.parameters.compose === 'Extras'
          ? { status: 'Failed', exitCode: 3, stdout: pungiFailed }
          : { status: 'Success' },
      { 'efs-preflight': preflight },
    );
    const failure = await failureOf(world.run(PIPELINE_IDS.compose, request));
    expect(failure.name).toBe('HostCommandFailed');
    expect(await world.heldLocks()).toEqual([]);
    expect(world.notifications).toHaveLength(1);
    expect(world.notifications[0]!.message).toMatch(
      /HostCommandFailed: releng-host compose: Failed \(exit 3\): pungi-koji exited 1: see logs\/global/,
    );
    expect(world.startedExecutions).toEqual([]);
  });

  it('does not compose a lane another live execution holds, and leaves its lock alone', async () => {
    const world = new PipelineWorld(template, ok, { 'efs-preflight': preflight });
    const other = {
      pk: { S: 'LOCK#lane:8/Rocky' },
      sk: { S: 'LOCK' },
      owner: { S: 'other' },
      expiresAtEpoch: { N: String(NOW + 60) },
    };
    await world.table.put(other);
    const failure = await failureOf(
      world.run(PIPELINE_IDS.compose, { ...request, composes: [request.composes[0]] }),
    );
    expect(failure.name).toBe('LockHeld');
    expect(work(world)).toEqual([]);
    expect(await world.heldLocks()).toEqual(['LOCK#lane:8/Rocky']);
    expect((await world.table.scan())[0]!.owner).toEqual({ S: 'other' });
    expect(world.notifications[0]!.message).toContain('Lane lock is held by another execution');
  });

  it('takes over a lane lock whose holder died (expired)', async () => {
    const world = new PipelineWorld(template, ok, { 'efs-preflight': preflight });
    await world.table.put({
      pk: { S: 'LOCK#lane:8/Rocky' },
      sk: { S: 'LOCK' },
      owner: { S: 'dead' },
      expiresAtEpoch: { N: String(NOW - 1) },
    });
    await world.run(PIPELINE_IDS.compose, { ...request, composes: [request.composes[0]] });
    expect(ops(world)).toEqual(['compose']);
    expect(await world.heldLocks()).toEqual([]);
  });
});

describe('staging pipeline', () => {
  const verified = {
    ok: true,
    revision: '8.7',
    digest: DIGEST_8,
    summary: stagingReady('8', DIGEST_8).summary,
  };

  it("syncs SIGs, then the built composes in the major's order, prepares, signs, verifies, verifies the SIGs and announces", async () => {
    const world = new PipelineWorld(
      template,
      (c) =>
        c.operation === 'verify-staging'
          ? {
              stdout: `${JSON.stringify(c.parameters.sig ? { ...verified, digest: DIGEST_9 } : verified)}\n`,
            }
          : { status: 'Success' },
      { 'efs-preflight': preflight },
    );
    await world.run(PIPELINE_IDS.staging, {
      version: 1,
      major: '8',
      composes: ['Rocky', 'Plus'],
      sigs: ['kernel'],
      requestedBy: 'kojira',
      requestId: 'req-1',
    });
    expect(
      work(world).map((c) => [
        c.operation,
        c.parameters.compose ?? c.parameters.sig ?? c.parameters.tree ?? '',
      ]),
    ).toEqual([
      ['sync-to-staging-sig', 'kernel'],
      ['sync-to-staging', 'Plus'],
      ['sync-to-staging', 'Rocky'],
      ['prep-staging', ''],
      ['apply-updateinfo', ''],
      ['sign-repos', 'staging'],
      ['verify-staging', ''],
      // A SIG is verified once the release it builds on is staged: its repoclosure needs BaseOS.
      ['sign-repos', 'kernel'],
      ['verify-staging', 'kernel'],
    ]);
    expect(world.locksTaken).toEqual(['LOCK#staging:8']);
    expect(await world.heldLocks()).toEqual([]);
    // The release first, then each SIG as a release of its own with its own digest.
    expect(world.messages).toHaveLength(2);
    const [ready, sig] = world.messages.map((m) => StagingReadyV1.parse(m));
    expect(ready).toMatchObject({ major: '8', revision: '8.7', digest: DIGEST_8, sigs: ['kernel'] });
    expect(ready!.sig).toBeUndefined();
    expect(sig).toMatchObject({ major: '8', channel: 'stable', sig: 'kernel', digest: DIGEST_9 });
    expect(sig).toMatchObject({ requestedBy: 'kojira', requestId: 'req-1' });
  });
});

describe('promotion pipeline', () => {
  const twoReleases = { version: 1, releases: [stagingReady('8', DIGEST_8), stagingReady('9', DIGEST_9)] };

  it('publishes every approved release with its approved digest, then writes the file lists once', async () => {
    const asked: any[] = [];
    const world = new PipelineWorld(template, ok, {
      'efs-preflight': preflight,
      'approval-request': (p) => {
        asked.push(p);
        return decision(p, 'APPROVED');
      },
    });
    await world.run(PIPELINE_IDS.promotion, twoReleases, 'promo-1');
    expect(asked.map((p) => [p.version, p.approvalId, p.taskToken, p.request.digest])).toEqual([
      [1, 'promo-1-0', 'token-promo-1', DIGEST_8],
      [1, 'promo-1-1', 'token-promo-1', DIGEST_9],
    ]);
    expect(
      work(world).map((c) => [c.operation, c.parameters.major ?? '', c.parameters.approvedDigest ?? '']),
    ).toEqual([
      ['sync-to-prod', '8', DIGEST_8],
      ['sync-to-prod', '9', DIGEST_9],
      ['file-lists', '', ''],
    ]);
    expect(world.locksTaken).toEqual(['LOCK#publish']);
    expect(await world.heldLocks()).toEqual([]);
    expect(world.notifications.map((n) => n.subject)).toEqual(['releng promotion published']);
  });

  it('on rejection notifies the reason and leaves production untouched', async () => {
    const world = new PipelineWorld(template, ok, {
      'efs-preflight': preflight,
      'approval-request': (p) => reject(p, 'kernel regression on aarch64'),
    });
    await world.run(PIPELINE_IDS.promotion, { version: 1, releases: [stagingReady('8', DIGEST_8)] });
    expect(work(world)).toEqual([]);
    expect(world.locksTaken).toEqual([]);
    expect(world.notifications).toHaveLength(1);
    expect(world.notifications[0]!.message).toContain('nothing approved');
    expect(world.notifications[0]!.message).toContain('kernel regression on aarch64');
  });

  it('publishes only the approved one of two', async () => {
    const world = new PipelineWorld(template, ok, {
      'efs-preflight': preflight,
      'approval-request': (p) => (p.request.major === '9' ? reject(p, 'not yet') : decision(p, 'APPROVED')),
    });
    await world.run(PIPELINE_IDS.promotion, twoReleases);
    expect(work(world).map((c) => [c.operation, c.parameters.major ?? ''])).toEqual([
      ['sync-to-prod', '8'],
      ['file-lists', ''],
    ]);
  });

  it('on a failing sync releases the publish lock, writes no file lists and notifies', async () => {
    const world = new PipelineWorld(
      template,
      (c) => (c.operation === 'sync-to-prod' ? { status: 'Failed', exitCode: 1 } : {}),
      {
        'efs-preflight': preflight,
        'approval-request': (p) => decision(p, 'APPROVED'),
      },
    );
    const failure = await failureOf(
      world.run(PIPELINE_IDS.promotion, { version: 1, releases: [stagingReady('8', DIGEST_8)] }),
    );
    expect(failure.name).toBe('HostCommandFailed');
    expect(ops(world)).toEqual(['sync-to-prod']);
    expect(await world.heldLocks()).toEqual([]);
    expect(world.notifications.map((n) => n.subject)).toEqual(['releng promotion failed']);
  });
});

describe('promotion approval timeout', () => {
  it('records TIMED_OUT on the pending approval and publishes nothing', async () => {
    // One second of approval time, so the real task timeout fires in the test.
    const { json } = synth({ approval: { timeoutHours: 1 / 3600 } });
    const world = new PipelineWorld(json, ok, {
      'efs-preflight': preflight,
      'approval-request': async (p: any) => {
        // What the approval-request Lambda stores, then no one decides.
        await world.table.put({
          pk: { S: `APPROVAL#${p.approvalId}` },
          sk: { S: 'APPROVAL' },
          status: { S: 'PENDING' },
        });
        return new Promise(() => {});
      },
    });
    await world.run(
      PIPELINE_IDS.promotion,
      { version: 1, releases: [stagingReady('8', DIGEST_8)] },
      'promo-t',
    );
    const approval = await world.table.get({ pk: { S: 'APPROVAL#promo-t-0' }, sk: { S: 'APPROVAL' } });
    expect(approval?.status).toEqual({ S: 'TIMED_OUT' });
    expect(work(world)).toEqual([]);
    expect(world.notifications[0]!.message).toContain('TIMED_OUT');
  });
});

describe('minor-release pipeline', () => {
  const verified = {
    ok: true,
    revision: '8.10',
    digest: DIGEST_8,
    summary: stagingReady('8', DIGEST_8).summary,
  };
  const request = {
    version: 1,
    major: '8',
    revision: '8.10',
    composes: [{ name: 'Rocky', kind: 'produce' }],
    requestedBy: 'jdoe',
    reason: '8.10 GA',
    requestId: 'ga-8-10',
  };
  const gaSteps = (world: PipelineWorld) =>
    work(world)
      .filter((c) => c.operation === 'ga-publish')
      .map((c) => c.parameters.step);
  type BitflipRequest = { approvalId: string; request: { digest: string } };
  const bitflipRequests: unknown[] = [];
  /** A GA world: the promotion published (or not), the bitflip approval decided by `bitflip`. */
  function gaWorld(published: boolean, bitflip: (payload: BitflipRequest) => unknown) {
    return new PipelineWorld(
      template,
      (c) => (c.operation === 'verify-staging' ? { stdout: JSON.stringify(verified) } : {}),
      {
        'efs-preflight': preflight,
        'states:startExecution': async () => ({ decision: { anyApproved: published } }),
        'approval-request': async (payload) => {
          bitflipRequests.push(payload);
          return bitflip(payload as BitflipRequest);
        },
      },
    );
  }

  it('produces the composes, stages ISOs and torrents, verifies, closes the production root, and hands the release to promotion', async () => {
    const world = new PipelineWorld(
      template,
      (c) => (c.operation === 'verify-staging' ? { stdout: JSON.stringify(verified) } : {}),
      { 'efs-preflight': preflight },
    );
    await world.run(PIPELINE_IDS.minorRelease, request, 'ga-8-10');
    // The promotion published nothing (its output names no approval): no GA step after it.
    expect(ops(world)).toEqual(['compose', 'minor-release', 'torrents', 'verify-staging', 'ga-publish']);
    expect(gaSteps(world)).toEqual(['close']);
    expect(work(world)[0]!.parameters).toMatchObject({ kind: 'produce', revision: '8.10' });
    expect(world.startedExecutions).toHaveLength(1);
    const promotion = world.startedExecutions[0]!.input as { releases: unknown[] };
    expect(promotion.releases.map((r) => StagingReadyV1.parse(r).revision)).toEqual(['8.10']);
    expect(await world.heldLocks()).toEqual([]);
  });

  it('after a published promotion: moves the link, asks for the bitflip, opens, vaults, rewrites the file lists', async () => {
    const world = gaWorld(true, (p) => ({
      version: 1,
      outcome: 'APPROVED',
      approvalId: p.approvalId,
      digest: p.request.digest,
      decidedBy: 'asmith',
      decidedAt: '2026-01-01T00:00:00Z',
    }));
    await world.run(PIPELINE_IDS.minorRelease, request, 'ga-8-10-b');
    expect(gaSteps(world)).toEqual(['close', 'link', 'open', 'vault']);
    expect(ops(world).slice(-5)).toEqual([
      'ga-publish',
      'ga-publish',
      'ga-publish',
      'ga-publish',
      'file-lists',
    ]);
    expect(work(world).find((c) => c.parameters.step === 'link')!.parameters).toMatchObject({
      major: '8',
      revision: '8.10',
    });
    const asked = bitflipRequests.at(-1) as { approvalId: string; request: unknown };
    expect(asked.approvalId).toBe('ga-8-10-b-bitflip');
    expect(StagingReadyV1.parse(asked.request).digest).toBe(DIGEST_8);
  });

  it('a rejected bitflip leaves the release published but closed, and says so', async () => {
    const world = gaWorld(true, () => {
      throw Object.assign(new Error('{"outcome":"REJECTED"}'), { name: 'ApprovalRejected' });
    });
    await world.run(PIPELINE_IDS.minorRelease, request, 'ga-8-10-c');
    expect(gaSteps(world)).toEqual(['close', 'link']);
    expect(ops(world)).not.toContain('file-lists');
    expect(world.notifications.at(-1)!.message).toContain(
      'the bitflip was not approved; 8.10 stays published at mode 750',
    );
  });
});
