import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SsmHostCommands } from '../../functions/adapters/ssm.ts';
import { loadConfig } from '../../shared/config/load.ts';
import { describeHostFailure, parseHostResult } from '../../shared/host-commands/result.ts';
import { PATTERNS } from '../../shared/patterns.ts';
import {
  FINAL_HOST_COMMAND_STATUSES,
  type HostCommandInvocation,
  type HostCommandRequest,
  type HostCommands,
} from '../../shared/ports.ts';
import { parse, UsageError } from '../args.ts';
import type { Output } from '../output.ts';
import { awsClients, ENGINE_OPTIONS, engineKind, openLocal } from './session.ts';

/** Stack outputs `releng doctor --engine aws` reads (declared by cdk/stacks/releng-stack.ts). */
export const DOCTOR_OUTPUTS = {
  document: 'HostDoctorDocumentName',
  instance: 'ComposeHostInstanceId',
} as const;

/** Sends the doctor document and waits for it as the SSM console would, polling its invocation. */
export async function runDoctor(
  commands: HostCommands,
  request: HostCommandRequest,
  pollMs = 2000,
  timeoutMs = 15 * 60_000,
): Promise<HostCommandInvocation> {
  const { commandId } = await commands.send(request);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const invocation = await commands.get(commandId, request.instanceId);
    if (invocation && FINAL_HOST_COMMAND_STATUSES.includes(invocation.status)) return invocation;
    if (Date.now() > deadline) {
      await commands.cancel(commandId);
      throw new Error(
        `doctor on ${request.instanceId} did not finish in ${timeoutMs / 60_000} min; cancelled`,
      );
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

async function awsTarget(values: { config?: string; stack?: string }) {
  const { stackId } = await import('../../cdk/build.ts');
  const config = loadConfig(values.config);
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? config.aws.region;
  if (!region) throw new UsageError('--engine aws needs a region: set AWS_REGION or aws.region');
  const stack = values.stack ?? stackId(config.stage);
  const described = await awsClients
    .cloudFormation(region)
    .send(new DescribeStacksCommand({ StackName: stack }));
  const outputs = described.Stacks?.[0]?.Outputs ?? [];
  const output = (prefix: string) => outputs.find((o) => o.OutputKey?.startsWith(prefix))?.OutputValue;
  const documentName = output(DOCTOR_OUTPUTS.document);
  const instanceId = output(DOCTOR_OUTPUTS.instance);
  if (!documentName || !instanceId)
    throw new Error(
      `stack ${stack} has no ${DOCTOR_OUTPUTS.document}/${DOCTOR_OUTPUTS.instance} output; deploy it again`,
    );
  return { commands: new SsmHostCommands(new SSMClient({ region })), documentName, instanceId };
}

/**
 * `releng doctor`: runs `releng-host doctor` on the compose host the way the pipelines do, through
 * the stack's SSM document: locally on the engine's root, with --engine aws on the deployed host.
 * Exit 0 when the host has every tool, mount, key and the free space it needs, 1 otherwise.
 */
export async function doctorCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, { ...ENGINE_OPTIONS, major: { type: 'string' } });
  if (positionals.length) throw new UsageError(`unexpected ${JSON.stringify(positionals[0])}`);
  if (values.major !== undefined && !new RegExp(PATTERNS.major).test(values.major))
    throw new UsageError(`--major ${JSON.stringify(values.major)} is not a major version`);
  const parameters: Record<string, string[]> = values.major ? { major: [values.major] } : {};
  let invocation: HostCommandInvocation;
  if (engineKind(values) === 'aws') {
    const target = await awsTarget(values);
    invocation = await runDoctor(target.commands, { ...target, parameters });
  } else {
    const session = await openLocal(values, out, { quiet: true });
    const { index } = session.engine.options.definitions;
    const documentName = Object.keys(index.operations).find((id) => index.operations[id] === 'doctor');
    if (!documentName) throw new Error('the synthesized app has no doctor document');
    invocation = await runDoctor(
      session.engine.hostCommands,
      { documentName, instanceId: 'local', parameters },
      100,
    );
  }
  const report = parseHostResult(invocation.stdout);
  if (values.json) out.json({ status: invocation.status, exitCode: invocation.responseCode, report });
  else if (report) for (const line of describeReport(report as DoctorReport)) out.line(line);
  else out.error(`releng doctor: ${describeHostFailure('doctor', invocation)}`);
  return invocation.status === 'Success' ? 0 : 1;
}

interface DoctorReport {
  tools?: Array<{ tool: string; need: string; found: boolean; version?: string }>;
  trees?: Array<{ tree: string; path: string; mounted: boolean; freeGiB?: number }>;
  signing?: { gpgHome: string; keys?: Array<{ major: string; fingerprint?: string }> };
  problems?: string[];
  error?: string;
}

/** The doctor's JSON report (what the document prints) as lines for a terminal. */
function describeReport(report: DoctorReport): string[] {
  const lines = ['tools:'];
  for (const t of report.tools ?? [])
    lines.push(
      `  ${t.found ? 'ok     ' : 'MISSING'} ${t.tool.padEnd(16)} ${t.need.padEnd(13)} ${t.version ?? ''}`.trimEnd(),
    );
  lines.push('trees:');
  for (const t of report.trees ?? [])
    lines.push(
      `  ${t.tree.padEnd(11)} ${t.mounted ? 'mounted    ' : 'not mounted'} ${String(t.freeGiB ?? '?').padStart(8)} GiB free  ${t.path}`,
    );
  lines.push(`signing key: ${report.signing?.gpgHome ?? '?'}`);
  for (const k of report.signing?.keys ?? []) lines.push(`  major ${k.major}: ${k.fingerprint ?? 'MISSING'}`);
  const problems = report.problems ?? (report.error ? [report.error] : []);
  lines.push(...(problems.length ? ['problems:', ...problems.map((p) => `  ${p}`)] : ['no problems']));
  return lines;
}
