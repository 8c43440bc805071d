import {
  DescribeFileSystemsCommand,
  DescribeMountTargetsCommand,
  type EFSClient,
  type FileSystemDescription,
} from '@aws-sdk/client-efs';
import { errorName } from '../../shared/errors.ts';
import { describeIssues } from '../../shared/intake/reason.ts';
import { EfsPreflightInputV1, EfsPreflightOutputV1 } from '../../shared/messages/tasks.ts';
import type { Clock } from '../../shared/ports.ts';
import type { LogPort } from '../adapters/runtime.ts';

/** The execution fails early with this (the state machine's Catch matches the name). */
export class EfsPreflightError extends Error {
  override readonly name = 'EfsPreflightError';
}

type FileSystemReport = EfsPreflightOutputV1['fileSystems'][number];

async function inspect(efs: EFSClient, id: string): Promise<{ report?: FileSystemReport; problem?: string }> {
  let fileSystem: FileSystemDescription | undefined;
  try {
    fileSystem = (await efs.send(new DescribeFileSystemsCommand({ FileSystemId: id }))).FileSystems?.[0];
  } catch (err) {
    if (errorName(err) === 'FileSystemNotFound') return { problem: `${id} does not exist` };
    throw err;
  }
  if (!fileSystem) return { problem: `${id} does not exist` };
  const targets = (await efs.send(new DescribeMountTargetsCommand({ FileSystemId: id }))).MountTargets ?? [];
  const available = targets.filter((t) => t.LifeCycleState === 'available').length;
  const report: FileSystemReport = {
    id,
    lifeCycleState: fileSystem.LifeCycleState ?? 'unknown',
    sizeBytes: fileSystem.SizeInBytes?.Value ?? 0,
    mountTargets: available,
  };
  if (report.lifeCycleState !== 'available')
    return { report, problem: `${id} is ${report.lifeCycleState}, not available` };
  if (available === 0) {
    const states = targets.map((t) => `${t.MountTargetId}=${t.LifeCycleState}`).join(', ') || 'none';
    return { report, problem: `${id} has no available mount target (${states})` };
  }
  return { report };
}

/** Checks each configured file system and its mount targets; every problem named in one error. */
export function createEfsPreflightHandler(efs: EFSClient, clock: Clock, logger: LogPort) {
  return async (event: unknown): Promise<EfsPreflightOutputV1> => {
    const input = EfsPreflightInputV1.safeParse(event);
    if (!input.success) throw new EfsPreflightError(`bad input: ${describeIssues(input.error)}`);
    const ids = [...new Set(input.data.fileSystemIds)];
    const results = await Promise.all(ids.map((id) => inspect(efs, id)));
    const problems = results.flatMap((r) => (r.problem ? [r.problem] : []));
    if (problems.length) {
      logger.error('EFS preflight failed', { problems });
      throw new EfsPreflightError(`EFS not ready: ${problems.join('; ')}`);
    }
    const output = EfsPreflightOutputV1.parse({
      version: 1,
      fileSystems: results.map((r) => r.report!),
      nowEpochSeconds: Math.floor(clock.now().getTime() / 1000),
    });
    logger.info('EFS preflight passed', { fileSystems: output.fileSystems });
    return output;
  };
}
