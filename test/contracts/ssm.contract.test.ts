import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateDocumentCommand, GetCommandInvocationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentContent } from '../../cdk/constructs/host-documents.ts';
import { LocalAgent } from '../../cli/agent/local-agent.ts';
import { LocalHostCommands } from '../../cli/engine/adapters/host-commands.ts';
import { SsmHostCommands } from '../../functions/adapters/ssm.ts';
import { FINAL_HOST_COMMAND_STATUSES, type HostCommands } from '../../shared/ports.ts';
import { clientConfig, describeMoto, useMoto } from '../support/moto.ts';

/**
 * SSM Run Command as the state machines and the HostCommands port use it: the synthesized
 * sign-repos document registered in moto and sent with SendCommand, and the same document on the
 * local agent. moto records commands but runs nothing: every invocation is at once `Success`
 * with exit code 0 and empty output, so output and failures are the local twin's to show.
 */

const moto = useMoto();
const INSTANCE = 'i-0123456789abcdef0';
const DOCUMENT = 'Releng-SignRepos';
const PARAMETERS = { major: ['8'], channel: ['stable'], dryRun: ['true'] };

interface HostBackend {
  commands: HostCommands;
  instanceId: string;
  cleanup(): Promise<void>;
}

async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function hostCommandsContract(make: () => Promise<HostBackend>) {
  let b: HostBackend;
  beforeAll(async () => {
    b = await make();
  });
  afterAll(() => b?.cleanup());

  it('sends the sign-repos document and reads its invocation to a final status', async () => {
    const { commandId } = await b.commands.send({
      documentName: DOCUMENT,
      instanceId: b.instanceId,
      parameters: PARAMETERS,
      comment: 'contract: sign-repos dry run',
    });
    expect(commandId).toMatch(/^[0-9a-f-]{36}$/);
    const done = await until(async () => {
      const got = await b.commands.get(commandId, b.instanceId);
      return got && FINAL_HOST_COMMAND_STATUSES.includes(got.status) ? got : undefined;
    }, 'a final status');
    expect(done).toEqual({
      commandId,
      instanceId: b.instanceId,
      status: expect.any(String),
      statusDetails: expect.any(String),
      responseCode: expect.any(Number),
      stdout: expect.any(String),
      stderr: expect.any(String),
    });
    expect(done.stdout.length).toBeLessThanOrEqual(24_000);
    expect(done.stderr.length).toBeLessThanOrEqual(8_000);
  });

  it('has no invocation of a command on another instance (InvocationDoesNotExist)', async () => {
    const { commandId } = await b.commands.send({
      documentName: DOCUMENT,
      instanceId: b.instanceId,
      parameters: PARAMETERS,
    });
    expect(await b.commands.get(commandId, 'i-0fffffffffffffff0')).toBeUndefined();
  });
}

describe('host commands on the local twin (the local agent runs the document text)', () =>
  hostCommandsContract(async () => {
    const root = mkdtempSync(join(tmpdir(), 'releng-contract-ssm-'));
    const agent = new LocalAgent({
      hostRoot: join(root, 'host'),
      s3Dir: join(root, 's3'),
      instanceId: INSTANCE,
    });
    const commands = new LocalHostCommands({
      agent,
      // By name, as SendCommand names it; the content is the synthesized document's.
      documents: { [DOCUMENT]: documentContent('sign-repos') },
      onEnded: () => {},
    });
    return {
      commands,
      instanceId: INSTANCE,
      cleanup: async () => rmSync(root, { recursive: true, force: true }),
    };
  }));

describeMoto(moto, 'SSM Run Command against moto', () => {
  let ssm: SSMClient;
  beforeAll(async () => {
    ssm = new SSMClient(clientConfig(moto));
    await ssm.send(
      new CreateDocumentCommand({
        Name: DOCUMENT,
        DocumentType: 'Command',
        DocumentFormat: 'JSON',
        Content: JSON.stringify(documentContent('sign-repos')),
      }),
    );
  });

  hostCommandsContract(async () => ({
    commands: new SsmHostCommands(ssm),
    instanceId: INSTANCE,
    cleanup: async () => {},
  }));

  it('answers GetCommandInvocation with the fields the state machines read', async () => {
    const { commandId } = await new SsmHostCommands(ssm).send({
      documentName: DOCUMENT,
      instanceId: INSTANCE,
      parameters: PARAMETERS,
    });
    const raw = await ssm.send(
      new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: INSTANCE }),
    );
    expect(raw).toMatchObject({
      CommandId: commandId,
      InstanceId: INSTANCE,
      Status: 'Success',
      StatusDetails: 'Success',
      ResponseCode: 0,
      StandardOutputContent: '',
      StandardErrorContent: '',
    });
  });

  it('names an unknown command InvalidCommandId where SSM says InvocationDoesNotExist', async () => {
    // moto 5.2.1 differs from SSM here; SsmHostCommands.get maps only InvocationDoesNotExist.
    await expect(
      ssm.send(
        new GetCommandInvocationCommand({
          CommandId: '00000000-0000-4000-8000-000000000000',
          InstanceId: INSTANCE,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidCommandId' });
  });
});
