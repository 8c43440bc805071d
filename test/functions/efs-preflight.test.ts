import {
  DescribeFileSystemsCommand,
  DescribeMountTargetsCommand,
  EFSClient,
  FileSystemNotFound,
} from '@aws-sdk/client-efs';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createEfsPreflightHandler } from '../../functions/efs-preflight/process.ts';
import { EfsPreflightOutputV1 } from '../../shared/messages/tasks.ts';
import { captureLog, manualClock } from './support.ts';

const KOJI = 'fs-0123456789abcdef0';
const COMPOSE = 'fs-0fedcba9876543210';

let efs: AwsClientStub<EFSClient>;
let handler: ReturnType<typeof createEfsPreflightHandler>;

beforeEach(() => {
  const client = new EFSClient({ region: 'eu-west-1' });
  efs = mockClient(client);
  efs.on(DescribeFileSystemsCommand).callsFake(({ FileSystemId }: { FileSystemId: string }) => ({
    FileSystems: [{ FileSystemId, LifeCycleState: 'available', SizeInBytes: { Value: 5_000_000 } }],
  }));
  efs.on(DescribeMountTargetsCommand).resolves({
    MountTargets: [
      { MountTargetId: 'fsmt-1', FileSystemId: KOJI, SubnetId: 's', LifeCycleState: 'available' },
      { MountTargetId: 'fsmt-2', FileSystemId: KOJI, SubnetId: 's', LifeCycleState: 'creating' },
    ],
  });
  handler = createEfsPreflightHandler(client, manualClock('2026-11-27T10:00:00Z'), captureLog());
});

describe('efs-preflight', () => {
  it('reports each file system once with state, size and available mount targets, and the time', async () => {
    const out = await handler({ version: 1, fileSystemIds: [KOJI, COMPOSE, KOJI] });
    expect(EfsPreflightOutputV1.parse(out)).toEqual({
      version: 1,
      fileSystems: [
        { id: KOJI, lifeCycleState: 'available', sizeBytes: 5_000_000, mountTargets: 1 },
        { id: COMPOSE, lifeCycleState: 'available', sizeBytes: 5_000_000, mountTargets: 1 },
      ],
      nowEpochSeconds: Date.parse('2026-11-27T10:00:00Z') / 1000,
    });
  });

  it('fails early naming every file system that is missing, not available or has no mount target', async () => {
    efs.on(DescribeFileSystemsCommand, { FileSystemId: KOJI }).rejects(
      new FileSystemNotFound({
        message: 'File system not found',
        $metadata: {},
        ErrorCode: 'FileSystemNotFound',
      }),
    );
    efs.on(DescribeFileSystemsCommand, { FileSystemId: COMPOSE }).resolves({
      FileSystems: [
        { FileSystemId: COMPOSE, LifeCycleState: 'available', SizeInBytes: { Value: 1 } } as never,
      ],
    });
    efs.on(DescribeMountTargetsCommand, { FileSystemId: COMPOSE }).resolves({
      MountTargets: [
        { MountTargetId: 'fsmt-9', FileSystemId: COMPOSE, SubnetId: 's', LifeCycleState: 'deleting' },
      ],
    });
    await expect(handler({ version: 1, fileSystemIds: [KOJI, COMPOSE] })).rejects.toThrow(
      expect.objectContaining({
        name: 'EfsPreflightError',
        message: `EFS not ready: ${KOJI} does not exist; ${COMPOSE} has no available mount target (fsmt-9=deleting)`,
      }),
    );
  });

  it('fails when a file system is still being created', async () => {
    efs.on(DescribeFileSystemsCommand).resolves({
      FileSystems: [{ FileSystemId: KOJI, LifeCycleState: 'creating', SizeInBytes: { Value: 0 } } as never],
    });
    await expect(handler({ version: 1, fileSystemIds: [KOJI] })).rejects.toThrow(
      `EFS not ready: ${KOJI} is creating, not available`,
    );
  });

  it('refuses input that is not EfsPreflightInputV1', async () => {
    await expect(handler({ version: 1, fileSystemIds: ['fs-$(reboot)'] })).rejects.toThrow(
      'bad input: fileSystemIds.0: not an EFS id',
    );
    expect(efs.calls()).toHaveLength(0);
  });
});
