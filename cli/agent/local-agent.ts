import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { posix } from 'node:path';
import { errorMessage } from '../../shared/errors.ts';
import { downloadContent, underRoot } from './download-content.ts';
import { LocalS3 } from './local-s3.ts';
import {
  type DocumentParameter,
  resolveParameters,
  substituteParameters,
  validateParameters,
} from './parameters.ts';
import { executionTimeoutSeconds, HeadBuffer, runShellScript, type ScriptRun } from './run-shell-script.ts';

/** GetCommandInvocation keeps the first 24,000 characters of stdout and 8,000 of stderr. */
export const STDOUT_LIMIT = 24_000;
export const STDERR_LIMIT = 8_000;

/** The statuses a local invocation goes through (a subset of SSM's). */
export type AgentStatus = 'InProgress' | 'Success' | 'Failed' | 'Cancelled' | 'TimedOut';

/** One step (plugin) of an invocation: GetCommandInvocation with `PluginName`. */
export interface StepInvocation {
  name: string;
  action: string;
  status: AgentStatus | 'Pending';
  /** The step's exit code; -1 until it ends. */
  responseCode: number;
  stdout: string;
  stderr: string;
}

/** One command on this host, shaped as GetCommandInvocation reports it. */
export interface AgentInvocation {
  commandId: string;
  instanceId: string;
  status: AgentStatus;
  /** SSM's finer status: `Success`, `Failed`, `Cancelled`, `ExecutionTimedOut`, `InProgress`. */
  statusDetails: string;
  /** The exit code of the last step that ran; -1 while the command runs. */
  responseCode: number;
  /** The first 24,000 characters of all steps' stdout, in step order. */
  stdout: string;
  /** The first 8,000 characters of all steps' stderr, in step order. */
  stderr: string;
  steps: StepInvocation[];
}

/** A command that was accepted and runs in the background. */
export interface StartedCommand {
  commandId: string;
  /** The process group of the running shell step (undefined between and after steps). */
  readonly pid: number | undefined;
  /** Resolves with the final invocation, whatever the outcome; never rejects. */
  done: Promise<AgentInvocation>;
  /** CancelCommand: kills the running step's whole process group; later steps do not run. */
  cancel(): void;
}

export interface LocalAgentOptions {
  /** The local directory that stands for the host's `/` (given to scripts as RELENG_HOST_ROOT). */
  hostRoot: string;
  /** The directory that stands for S3 (`BUCKET/KEY` files), e.g. `<root>/engine/s3`. */
  s3Dir: string;
  /** The instance id the invocations report; default `i-local`. */
  instanceId?: string;
  /** The environment scripts start from (default process.env); the agent adds its own variables. */
  env?: NodeJS.ProcessEnv;
}

export interface StartOptions {
  /** The command id (SendCommand's answer); default a random UUID. */
  commandId?: string;
  /** Every chunk of output as it comes, e.g. to stream progress from stderr. */
  onOutput?(event: { step: string; stream: 'stdout' | 'stderr'; text: string }): void;
}

interface DocumentStep {
  action: string;
  name: string;
  inputs?: Record<string, unknown>;
}

interface CommandDocument {
  schemaVersion: string;
  parameters?: Record<string, DocumentParameter>;
  mainSteps: DocumentStep[];
}

/** A new invocation of `doc`, every step Pending, as SendCommand leaves it. */
function newInvocation(commandId: string, instanceId: string, doc: CommandDocument): AgentInvocation {
  return {
    commandId,
    instanceId,
    status: 'InProgress',
    statusDetails: 'InProgress',
    responseCode: -1,
    stdout: '',
    stderr: '',
    steps: doc.mainSteps.map((step) => ({
      name: step.name,
      action: step.action,
      status: 'Pending',
      responseCode: -1,
      stdout: '',
      stderr: '',
    })),
  };
}

/**
 * The SSM agent of the local twin: runs an SSM Command document (schema 2.x, as synthesized)
 * the way the agent on a compose host does, against a host root instead of `/`. SendCommand's
 * checks are made by `start` (it throws InvalidParametersError); the agent's own checks (every
 * allowedPattern compiles as RE2 and matches, allowedValues) fail the invocation before any step
 * runs. Supports `aws:downloadContent` from S3 (a local directory) and `aws:runShellScript`.
 */
export class LocalAgent {
  readonly hostRoot: string;
  readonly instanceId: string;
  private readonly s3: LocalS3;
  private readonly baseEnv: NodeJS.ProcessEnv;
  private readonly invocations = new Map<string, AgentInvocation>();

  constructor(options: LocalAgentOptions) {
    this.hostRoot = options.hostRoot;
    this.instanceId = options.instanceId ?? 'i-local';
    this.s3 = new LocalS3(options.s3Dir);
    this.baseEnv = options.env ?? process.env;
  }

  /**
   * Sends `document` (its JSON content) with `parameters` (SSM's shape: every value a list) and
   * starts running it. Throws InvalidParametersError for an unknown parameter, a required one
   * left out, or a document the agent cannot parse; every other failure is the invocation's.
   */
  start(document: unknown, parameters: Record<string, string[]>, options: StartOptions = {}): StartedCommand {
    const doc = parseDocument(document);
    const declared = doc.parameters ?? {};
    const values = resolveParameters(declared, parameters);
    const commandId = options.commandId ?? randomUUID();
    if (this.invocations.has(commandId)) throw new Error(`command ${commandId} already exists on this agent`);
    const invocation = newInvocation(commandId, this.instanceId, doc);
    this.invocations.set(commandId, invocation);
    let running: ScriptRun | undefined;
    let cancelled = false;
    const out = { stdout: new HeadBuffer(STDOUT_LIMIT), stderr: new HeadBuffer(STDERR_LIMIT) };
    const emit = (step: number, stream: 'stdout' | 'stderr', text: string) => {
      out[stream].append(text);
      invocation[stream] = out[stream].value;
      const entry = invocation.steps[step]!;
      entry[stream] = (entry[stream] + text).slice(0, stream === 'stdout' ? STDOUT_LIMIT : STDERR_LIMIT);
      options.onOutput?.({ step: entry.name, stream, text });
    };
    const finish = (status: AgentStatus, code: number, details: string = status) => {
      invocation.status = status;
      invocation.statusDetails = details;
      invocation.responseCode = code;
      running = undefined;
      return { ...invocation, steps: invocation.steps.map((s) => ({ ...s })) };
    };
    /** Ends the invocation as Failed with `lines` on its stderr. */
    const failed = (lines: string[]) => {
      for (const line of lines) out.stderr.append(`${line}\n`);
      invocation.stderr = out.stderr.value;
      return finish('Failed', 1);
    };

    const run = async (): Promise<AgentInvocation> => {
      const problems = validateParameters(declared, values);
      if (problems.length > 0) return failed(problems);
      const orchestrationDir = `/var/lib/amazon/ssm/${this.instanceId}/document/orchestration/${commandId}`;
      for (const [index, raw] of doc.mainSteps.entries()) {
        const step = invocation.steps[index]!;
        if (cancelled) return finish('Cancelled', -1);
        step.status = 'InProgress';
        const inputs = substituteParameters(raw.inputs ?? {}, values) as Record<string, unknown>;
        const result = await this.runStep(raw.action, raw.name, inputs, {
          orchestrationDir,
          commandId,
          emit: (stream, text) => emit(index, stream, text),
          started: (script) => {
            running = script;
            if (cancelled) script.cancel();
          },
        });
        running = undefined;
        step.status = result.status;
        step.responseCode = result.code;
        const details = result.status === 'TimedOut' ? 'ExecutionTimedOut' : result.status;
        if (result.status !== 'Success') return finish(result.status, result.code, details);
      }
      const last = invocation.steps.at(-1)!;
      return finish('Success', last.responseCode);
    };
    const done = run().catch((err: Error) => failed([err.message]));
    return {
      commandId,
      get pid() {
        return running?.pid;
      },
      done,
      cancel: () => {
        if (invocation.status !== 'InProgress') return;
        cancelled = true;
        running?.cancel();
      },
    };
  }

  /**
   * The invocation as GetCommandInvocation reports it (a copy); with `stepName`, that step's
   * view (GetCommandInvocation with PluginName). Undefined when this agent has no such command.
   */
  invocation(commandId: string, stepName?: string): AgentInvocation | undefined {
    const invocation = this.invocations.get(commandId);
    if (!invocation) return undefined;
    const copy = { ...invocation, steps: invocation.steps.map((s) => ({ ...s })) };
    if (stepName === undefined) return copy;
    const step = copy.steps.find((s) => s.name === stepName);
    if (!step) throw new Error(`command ${commandId} has no step ${JSON.stringify(stepName)}`);
    const status = step.status === 'Pending' ? 'InProgress' : step.status;
    return {
      ...copy,
      status,
      statusDetails: status,
      responseCode: step.responseCode,
      stdout: step.stdout,
      stderr: step.stderr,
    };
  }

  private async runStep(
    action: string,
    name: string,
    inputs: Record<string, unknown>,
    context: {
      orchestrationDir: string;
      commandId: string;
      emit(stream: 'stdout' | 'stderr', text: string): void;
      started(script: ScriptRun): void;
    },
  ): Promise<{ status: AgentStatus; code: number }> {
    if (action === 'aws:downloadContent') {
      try {
        const path = await downloadContent(inputs, {
          hostRoot: this.hostRoot,
          orchestrationDir: context.orchestrationDir,
          s3: this.s3,
        });
        context.emit('stdout', `Content downloaded to ${path}\n`);
        return { status: 'Success', code: 0 };
      } catch (err) {
        context.emit('stderr', `${errorMessage(err)}\n`);
        return { status: 'Failed', code: 1 };
      }
    }
    if (action !== 'aws:runShellScript') {
      context.emit('stderr', `step ${name}: action ${action} is not supported by the local agent\n`);
      return { status: 'Failed', code: 1 };
    }
    const lines = inputs.runCommand;
    if (!Array.isArray(lines) || lines.some((l) => typeof l !== 'string')) {
      context.emit('stderr', `step ${name}: runCommand is not a list of strings\n`);
      return { status: 'Failed', code: 1 };
    }
    const downloads = underRoot(this.hostRoot, posix.join(context.orchestrationDir, 'downloads'));
    await mkdir(this.hostRoot, { recursive: true });
    const script = await runShellScript({
      lines: lines as string[],
      stepDir: underRoot(this.hostRoot, posix.join(context.orchestrationDir, name)),
      // The agent runs in `downloads/` when a step downloaded there, else in its own cwd (`/`).
      cwd: existsSync(downloads) ? downloads : this.hostRoot,
      env: {
        ...this.baseEnv,
        RELENG_HOST_ROOT: this.hostRoot,
        SSM_COMMAND_ID: context.commandId,
        AWS_SSM_INSTANCE_ID: this.instanceId,
      },
      timeoutSeconds: executionTimeoutSeconds(inputs.timeoutSeconds),
      onStdout: (text) => context.emit('stdout', text),
      onStderr: (text) => context.emit('stderr', text),
    });
    context.started(script);
    const result = await script.done;
    if (result.stopped === 'cancel') return { status: 'Cancelled', code: result.exitCode };
    if (result.stopped === 'timeout') return { status: 'TimedOut', code: result.exitCode };
    return { status: result.exitCode === 0 ? 'Success' : 'Failed', code: result.exitCode };
  }
}

/** SSM's rule for step names; the agent also uses them as directory names. */
const STEP_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;

/** The document as the agent parses it; a shape it cannot run is refused when sent. */
function parseDocument(document: unknown): CommandDocument {
  const doc = (typeof document === 'string' ? JSON.parse(document) : document) as Partial<CommandDocument>;
  if (!doc || typeof doc !== 'object') throw new Error('the document is not a JSON object');
  if (typeof doc.schemaVersion !== 'string' || !/^2\.(0|0\.[123]|2)$/.test(doc.schemaVersion)) {
    throw new Error(`unsupported document schemaVersion ${JSON.stringify(doc.schemaVersion)}`);
  }
  if (!Array.isArray(doc.mainSteps) || doc.mainSteps.length === 0)
    throw new Error('the document has no mainSteps');
  for (const step of doc.mainSteps) {
    if (typeof step?.action !== 'string' || typeof step?.name !== 'string' || !STEP_NAME.test(step.name)) {
      throw new Error(
        `document step ${JSON.stringify(step)} needs an action and a name matching ${STEP_NAME}`,
      );
    }
  }
  return doc as CommandDocument;
}
