import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type HostOperationName, hostArgv, paramsOf } from '../../../shared/operations.ts';
import { lookupResource, type ResourceIndex } from '../definitions.ts';
import type { ExecutionStore } from '../execution-store.ts';
import { type EngineListener, requireString, serviceError, type TaskAdapter } from './types.ts';

/** SSM keeps the last 24,000 characters of a command's output; so do we. */
const OUTPUT_LIMIT = 24_000;

export const HOST_ENTRY = fileURLToPath(new URL('../../../bin/releng-host.mjs', import.meta.url));

interface Invocation {
  commandId: string;
  operation: HostOperationName;
  argv: string[];
  status: 'Pending' | 'InProgress' | 'Success' | 'Failed' | 'TimedOut';
  code?: number;
  stdout: string;
  stderr: string;
  startedAt: number;
}

export interface SsmAdapterOptions {
  index: ResourceIndex;
  store: ExecutionStore;
  /** The engine root: every host operation gets `--root` this. */
  root: string;
  /** A releng.config.json override, passed as `--config`. */
  configFile?: string;
  /** Program and leading args that run releng-host; default `node bin/releng-host.mjs`. */
  hostCommand?: string[];
  env?: NodeJS.ProcessEnv;
  listener?: EngineListener;
}

const normalize = (name: string) => name.toLowerCase().replaceAll(/[^a-z0-9]/g, '');

/** Values the engine sets itself: on a compose host the document fixes them. */
const ENGINE_OWNED = new Set(['root', 'config', 'json']);

/** SSM's `{name: [value]}` parameters → the operation's option values, names matched loosely. */
export function operationValues(
  operation: HostOperationName,
  parameters: Record<string, unknown> | undefined,
): Record<string, string | boolean> {
  const byNormal = new Map(paramsOf(operation).map((p) => [normalize(p.name), p]));
  const values: Record<string, string | boolean> = {};
  for (const [key, raw] of Object.entries(parameters ?? {})) {
    const param = byNormal.get(normalize(key));
    if (!param)
      throw serviceError('Ssm.InvalidParameters', `${operation}: unknown parameter ${JSON.stringify(key)}`);
    if (ENGINE_OWNED.has(param.name)) continue;
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value === undefined || value === null || value === '') continue;
    if (param.kind.type === 'flag') values[param.name] = value === true || value === 'true';
    else values[param.name] = String(value);
  }
  return values;
}

/**
 * ssm:sendCommand runs `releng-host OPERATION … --root ROOT --json` as a child process;
 * ssm:getCommandInvocation reports its status and output the way SSM does, so the state
 * machine's own Wait → poll → Choice loop drives it.
 */
export function createSsmAdapters(options: SsmAdapterOptions): { send: TaskAdapter; get: TaskAdapter } {
  const invocations = new Map<string, Invocation>();
  const hostCommand = options.hostCommand ?? [process.execPath, HOST_ENTRY];

  const send: TaskAdapter = async (input, task) => {
    const [, operation] = lookupResource(options.index.operations, input.DocumentName, 'SSM document');
    let argv: string[];
    try {
      argv = hostArgv(operation, operationValues(operation, input.Parameters as Record<string, unknown>));
    } catch (err) {
      throw serviceError('Ssm.InvalidParameters', (err as Error).message);
    }
    argv.push('--root', options.root, '--json');
    if (options.configFile) argv.push('--config', options.configFile);
    const commandId = randomUUID();
    const invocation: Invocation = {
      commandId,
      operation,
      argv,
      status: 'InProgress',
      stdout: '',
      stderr: '',
      startedAt: Date.now(),
    };
    invocations.set(commandId, invocation);
    const [program, ...lead] = hostCommand;
    const log = (text: string) => options.store.appendLog(task.execution, task.state, text);
    await log(`$ releng-host ${argv.join(' ')}\n`);
    const child = spawn(program!, [...lead, ...argv], {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => {
      invocation.stdout = (invocation.stdout + d.toString('utf8')).slice(-OUTPUT_LIMIT);
    });
    child.stderr.on('data', (d: Buffer) => {
      const text = d.toString('utf8');
      invocation.stderr = (invocation.stderr + text).slice(-OUTPUT_LIMIT);
      void log(text);
      for (const line of text.split('\n').filter(Boolean)) {
        options.listener?.({
          execution: task.execution,
          stateMachine: task.stateMachine,
          kind: 'progress',
          state: task.state,
          message: `${operation}: ${line}`,
        });
      }
    });
    child.on('error', (err) => {
      invocation.status = 'Failed';
      invocation.code = 127;
      invocation.stderr += `cannot run releng-host: ${err.message}\n`;
    });
    child.on('close', (code, signal) => {
      invocation.code = code ?? (signal ? 128 : 1);
      invocation.status = invocation.code === 0 ? 'Success' : 'Failed';
      void log(
        `${invocation.stdout}\n[exit ${invocation.code} after ${((Date.now() - invocation.startedAt) / 1000).toFixed(1)} s]\n`,
      );
    });
    return {
      Command: {
        CommandId: commandId,
        DocumentName: input.DocumentName,
        InstanceIds: input.InstanceIds ?? [],
        Parameters: input.Parameters ?? {},
        Status: 'Pending',
      },
    };
  };

  const get: TaskAdapter = async (input, task) => {
    const commandId = requireString(input, 'CommandId', task);
    const invocation = invocations.get(commandId);
    if (!invocation) {
      throw serviceError('Ssm.InvocationDoesNotExistException', `no command ${commandId} on this engine`);
    }
    const done = invocation.status === 'Success' || invocation.status === 'Failed';
    return {
      CommandId: commandId,
      InstanceId: input.InstanceId ?? 'local',
      DocumentName: invocation.operation,
      Status: invocation.status,
      StatusDetails: invocation.status,
      ResponseCode: done ? invocation.code : -1,
      StandardOutputContent: invocation.stdout,
      StandardErrorContent: invocation.stderr,
    };
  };

  return { send, get };
}
