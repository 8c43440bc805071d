import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadConfig } from '../../shared/config/load.ts';
import { UsageError } from '../args.ts';
import type { EngineEvent, EngineListener } from '../engine/adapters/types.ts';
import { AwsEngine, resolveAwsTargets } from '../engine/aws-engine.ts';
import { AwsPipelineEngine } from '../engine/aws-pipeline-engine.ts';
import { NO_DEFINITIONS } from '../engine/definitions.ts';
import { type LocalSession, type LocalSessionOptions, openLocalSession } from '../engine/local-app.ts';
import { LocalPipelineEngine } from '../engine/local-pipeline-engine.ts';
import type { PipelineEngine } from '../engine/pipeline-engine.ts';
import { type Output, progressText } from '../output.ts';
import { requireExistingRoot } from './inputs.ts';

/** Options every engine command takes. */
export const ENGINE_OPTIONS = {
  engine: { type: 'string', default: 'local' },
  root: { type: 'string', default: '.releng' },
  config: { type: 'string' },
  stack: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

export interface EngineValues {
  engine?: string;
  root?: string;
  config?: string;
  stack?: string;
  json?: boolean;
}

export function engineKind(values: EngineValues): 'local' | 'aws' {
  if (values.engine !== 'local' && values.engine !== 'aws') {
    throw new UsageError(`--engine ${JSON.stringify(values.engine)}: expected local or aws`);
  }
  return values.engine;
}

/** Test seam: the AWS clients (aws-sdk-client-mock replaces their send). */
export const awsClients = {
  sfn: (region: string) => new SFNClient({ region }),
  sqs: (region: string) => new SQSClient({ region }),
  cloudFormation: (region: string) => new CloudFormationClient({ region }),
};

export async function openAws(values: EngineValues): Promise<AwsEngine> {
  // Loaded only here: the CDK library is slow to import and only its stack naming is needed.
  const { stackId } = await import('../../cdk/build.ts');
  const config = loadConfig(values.config);
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? config.aws.region;
  if (!region) {
    throw new UsageError('--engine aws needs a region: set AWS_REGION or aws.region in releng.config.json');
  }
  const stack = values.stack ?? stackId(config.stage);
  const targets = await resolveAwsTargets(awsClients.cloudFormation(region), stack);
  return new AwsEngine(targets, awsClients.sfn(region), awsClients.sqs(region));
}

/** Prints what the engine does as it goes: steps with elapsed time, host progress, notifications. */
export function progressPrinter(
  out: Output,
  json: boolean,
  verbose = true,
  autoApprove = false,
): EngineListener {
  const started = Date.now();
  // A poll loop enters the same state again and again: print a step once until another one starts.
  const lastStep = new Map<string, string>();
  // With --json, stdout carries only the final object; progress goes to stderr.
  const print = json ? out.error : out.line;
  return (event: EngineEvent) => {
    const elapsed = `${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s`;
    const where = event.stateMachine ? `${event.stateMachine} ${event.execution}` : event.execution;
    switch (event.kind) {
      case 'phase':
        print(`${elapsed}  ${event.message}`);
        break;
      case 'started':
        out.startedExecution?.(event.execution);
        print(`${elapsed}  ▶ ${where}`);
        break;
      case 'step':
        if (lastStep.get(event.execution) === event.state) break;
        lastStep.set(event.execution, event.state ?? '');
        print(`${elapsed}    › ${where}: ${event.state}`);
        break;
      case 'progress':
        if (verbose) print(progressText(out, json ? 'error' : 'line', `${elapsed}      ${event.message}`));
        break;
      case 'approval':
        print(
          autoApprove
            ? `${elapsed}    ⏸ ${where}: ${event.message}; --yes approves it`
            : `${elapsed}    ⏸ ${where}: ${event.message}; decide with releng approvals, then releng approve ID or releng reject ID --reason WHY`,
        );
        break;
      case 'notification':
        print(`${elapsed}    ✉ ${event.message.split('\n')[0]}`);
        break;
      case 'finished':
        print(`${elapsed}  ${event.message === 'succeeded' ? '✔' : '✘'} ${where} ${event.message}`);
        break;
    }
  };
}

export interface OpenEngineOptions extends Partial<LocalSessionOptions> {
  /** Skip synthesizing the app (status, history, decisions). */
  readOnly?: boolean;
  /** No host progress lines. */
  quiet?: boolean;
  /** Fail on a missing local root instead of creating one (commands that only read). */
  existingRoot?: boolean;
}

/**
 * The pipeline a command talks to, chosen here once from --engine: the embedded engine on the
 * --root, or the deployed stack. Commands use only what PipelineEngine offers.
 */
export async function openEngine(
  values: EngineValues,
  out: Output,
  options: OpenEngineOptions = {},
): Promise<PipelineEngine> {
  if (engineKind(values) === 'aws') return new AwsPipelineEngine(await openAws(values));
  const { existingRoot, ...local } = options;
  if (existingRoot) requireExistingRoot(values.root);
  return new LocalPipelineEngine(await openLocal(values, out, local));
}

/** The local engine; `readOnly` sessions (status, history, decisions) skip synthesizing the app. */
export async function openLocal(
  values: EngineValues,
  out: Output,
  extra: Omit<OpenEngineOptions, 'existingRoot'> = {},
): Promise<LocalSession> {
  const { readOnly, quiet, ...rest } = extra;
  return openLocalSession({
    ...(readOnly ? { definitions: NO_DEFINITIONS } : { stopOnInterrupt: true }),
    root: values.root ?? '.releng',
    ...(values.config ? { configFile: values.config } : {}),
    listener: progressPrinter(out, values.json === true, !quiet, rest.autoApproveAs !== undefined),
    ...rest,
  });
}
