import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import {
  HOST_FIXED_PARAMS,
  HOST_OPERATIONS,
  type HostOperationName,
  type OperationParam,
  paramPattern,
  paramsOf,
  ssmParamName,
} from '../../shared/operations.ts';

import { HOST_INSTALL } from './host-paths.ts';

export { HOST_INSTALL, ssmParamName };

/** The operation parameters a document offers: everything but root, config and json. */
export function documentParams(operation: HostOperationName): OperationParam[] {
  return paramsOf(operation).filter((param) => !HOST_FIXED_PARAMS.has(param.name));
}

interface SsmParameter {
  type: 'String';
  description: string;
  allowedPattern?: string;
  allowedValues?: string[];
  default?: string;
}

function ssmParameter(param: OperationParam): SsmParameter {
  const { kind } = param;
  if (kind.type === 'flag') {
    return {
      type: 'String',
      description: param.description,
      allowedValues: ['true', 'false'],
      default: 'false',
    };
  }
  const out: SsmParameter = { type: 'String', description: param.description };
  if (kind.type === 'enum') out.allowedValues = param.required ? [...kind.values] : ['', ...kind.values];
  else {
    const pattern = paramPattern(param);
    if (!pattern) throw new Error(`parameter ${param.name} has no pattern`);
    // An optional parameter may be left empty; SSM checks defaults against the pattern too.
    out.allowedPattern = param.required ? pattern : `^$|${pattern}`;
  }
  if (!param.required) out.default = '';
  return out;
}

/**
 * The shell script of a document. SSM pastes `{{ param }}` into it textually, which is why every
 * parameter is held to an allowedPattern or allowedValues that admits no quote: each value lands
 * inside single quotes and reaches releng-host as one argv element, never as shell text.
 * Every install location is under `$R`, the host root: empty on AWS (the agent sets no
 * RELENG_HOST_ROOT, so everything is at `/`), the local root when the local agent runs it.
 */
export function documentScript(operation: HostOperationName): string[] {
  const lines = [
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a template
    'R="${RELENG_HOST_ROOT:-}"',
    'set -euo pipefail',
    `args=(${operation} --root "\${R:-/}" --config "$R${HOST_INSTALL.config}" --json)`,
  ];
  for (const param of documentParams(operation)) {
    const value = `'{{ ${ssmParamName(param.name)} }}'`;
    if (param.kind.type === 'flag') lines.push(`if [ ${value} = true ]; then args+=(--${param.name}); fi`);
    else lines.push(`v=${value}; if [ -n "$v" ]; then args+=(--${param.name} "$v"); fi`);
  }
  // Progress goes to stderr, the one-line JSON result to stdout: the pipeline parses stdout.
  lines.push(`exec "$R${HOST_INSTALL.bin}" "\${args[@]}"`);
  return lines;
}

export function documentContent(operation: HostOperationName): Record<string, unknown> {
  const spec = HOST_OPERATIONS[operation];
  return {
    schemaVersion: '2.2',
    description: `releng-host ${operation}: ${spec.description}`,
    parameters: Object.fromEntries(
      documentParams(operation).map((param) => [ssmParamName(param.name), ssmParameter(param)]),
    ),
    mainSteps: [
      {
        action: 'aws:runShellScript',
        name: 'releng',
        inputs: { runCommand: documentScript(operation), timeoutSeconds: String(spec.timeoutSeconds) },
      },
    ],
  };
}

/**
 * One SSM Command document per compose-host operation, derived from the operation catalogue so
 * the parameters and their patterns can never drift from what releng-host accepts.
 */
export class HostOperationDocuments extends Construct {
  readonly documents: Record<HostOperationName, ssm.CfnDocument>;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const names = Object.keys(HOST_OPERATIONS) as HostOperationName[];
    this.documents = Object.fromEntries(
      names.map((operation) => {
        const doc = new ssm.CfnDocument(this, operation, {
          documentType: 'Command',
          documentFormat: 'JSON',
          updateMethod: 'NewVersion',
          content: documentContent(operation),
        });
        doc.addMetadata('releng:operation', operation);
        return [operation, doc];
      }),
    ) as Record<HostOperationName, ssm.CfnDocument>;
  }

  document(operation: HostOperationName): ssm.CfnDocument {
    return this.documents[operation];
  }
}
