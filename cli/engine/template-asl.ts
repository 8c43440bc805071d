/**
 * Turns a state machine's DefinitionString in a synthesized template back into plain ASL, with
 * every reference replaced by a placeholder ARN typed by the referenced resource. The local
 * engine and the state-machine tests run the same definition CloudFormation would deploy.
 */

export const PLACEHOLDER_ACCOUNT = '000000000000';
export const PLACEHOLDER_REGION = 'us-east-1';

type Template = { Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

export class AslResolveError extends Error {
  override readonly name = 'AslResolveError';
}

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': PLACEHOLDER_REGION,
  'AWS::AccountId': PLACEHOLDER_ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'Releng',
  'AWS::NoValue': '',
};

const arnPrefix = (service: string) => `arn:aws:${service}:${PLACEHOLDER_REGION}:${PLACEHOLDER_ACCOUNT}`;

/** What `Ref` of a resource yields in CloudFormation, as a placeholder. */
function refOf(logicalId: string, type: string): string {
  switch (type) {
    case 'AWS::Lambda::Function':
    case 'AWS::DynamoDB::Table':
    case 'AWS::DynamoDB::GlobalTable':
    case 'AWS::SSM::Document':
    case 'AWS::Logs::LogGroup':
    case 'AWS::SNS::Topic':
      // Topic Ref is its ARN; the others are their names.
      return type === 'AWS::SNS::Topic' ? `${arnPrefix('sns')}:${logicalId}` : logicalId;
    case 'AWS::SQS::Queue':
      return `https://sqs.${PLACEHOLDER_REGION}.amazonaws.com/${PLACEHOLDER_ACCOUNT}/${logicalId}`;
    case 'AWS::StepFunctions::StateMachine':
      return `${arnPrefix('states')}:stateMachine:${logicalId}`;
    case 'AWS::EC2::Instance':
      return `i-${hex(logicalId).slice(0, 17)}`;
    case 'AWS::EFS::FileSystem':
      return `fs-${hex(logicalId).slice(0, 8)}`;
    default:
      return logicalId;
  }
}

/** A stable lowercase hex rendering of a logical id, for ids that must look like `i-…`/`fs-…`. */
function hex(text: string): string {
  let h = 0x811c9dc5;
  for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0').repeat(3);
}

/** What `Fn::GetAtt` yields, as a placeholder. */
function getAtt(logicalId: string, type: string, attribute: string): string {
  if (attribute !== 'Arn') {
    if (type === 'AWS::SQS::Queue' && attribute === 'QueueName') return logicalId;
    if (type === 'AWS::StepFunctions::StateMachine' && attribute === 'Name') return logicalId;
    throw new AslResolveError(`Fn::GetAtt ${logicalId}.${attribute} (${type}) has no placeholder`);
  }
  switch (type) {
    case 'AWS::Lambda::Function':
      return `${arnPrefix('lambda')}:function:${logicalId}`;
    case 'AWS::DynamoDB::Table':
    case 'AWS::DynamoDB::GlobalTable':
      return `${arnPrefix('dynamodb')}:table/${logicalId}`;
    case 'AWS::SQS::Queue':
      return `${arnPrefix('sqs')}:${logicalId}`;
    case 'AWS::SNS::Topic':
      return `${arnPrefix('sns')}:${logicalId}`;
    case 'AWS::Logs::LogGroup':
      return `${arnPrefix('logs')}:log-group:${logicalId}:*`;
    case 'AWS::StepFunctions::StateMachine':
      return `${arnPrefix('states')}:stateMachine:${logicalId}`;
    default:
      throw new AslResolveError(`Fn::GetAtt ${logicalId}.Arn of ${type} has no placeholder`);
  }
}

/** Resolves Ref, Fn::GetAtt and Fn::Join in `value`; throws on any other intrinsic. */
export function resolveIntrinsics(value: unknown, template: Template): unknown {
  const resources = template.Resources ?? {};
  const typeOf = (id: string) => {
    const resource = resources[id];
    if (!resource)
      throw new AslResolveError(`reference to ${JSON.stringify(id)}, which is not in the template`);
    return resource.Type;
  };
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    const entries = Object.entries(v as Record<string, unknown>);
    const [key, arg] = entries[0] ?? [];
    if (entries.length === 1 && key === 'Ref') {
      const id = String(arg);
      return PSEUDO[id] ?? refOf(id, typeOf(id));
    }
    if (entries.length === 1 && key === 'Fn::GetAtt') {
      const [id, attribute] = (Array.isArray(arg) ? arg : String(arg).split('.')) as [string, string];
      return getAtt(id, typeOf(id), attribute);
    }
    if (entries.length === 1 && key === 'Fn::Join') {
      const [separator, parts] = arg as [string, unknown[]];
      return (walk(parts) as unknown[]).map(String).join(separator);
    }
    if (entries.length === 1 && key?.startsWith('Fn::')) {
      throw new AslResolveError(`${key} is not supported in a state machine definition`);
    }
    return Object.fromEntries(entries.map(([k, inner]) => [k, walk(inner)]));
  };
  return walk(value);
}

export interface ExtractedStateMachine {
  logicalId: string;
  definition: Record<string, unknown>;
}

/**
 * The ASL of the one AWS::StepFunctions::StateMachine whose logical id starts with
 * `logicalIdPrefix` (CDK's ids are the construct path plus a hash: `ComposePipeline…`).
 */
export function aslFromTemplate(template: Template, logicalIdPrefix: string): Record<string, unknown> {
  return extractStateMachine(template, logicalIdPrefix).definition;
}

/** The one state machine whose logical id starts with `logicalIdPrefix`, with its ASL resolved. */
export function extractStateMachine(template: Template, logicalIdPrefix: string): ExtractedStateMachine {
  const matches = Object.entries(template.Resources ?? {}).filter(
    ([id, r]) => r.Type === 'AWS::StepFunctions::StateMachine' && id.startsWith(logicalIdPrefix),
  );
  if (matches.length !== 1) {
    throw new AslResolveError(
      `expected one state machine with logical id ${logicalIdPrefix}…, found ${matches.length}`,
    );
  }
  const [logicalId, resource] = matches[0]!;
  const raw = resource.Properties?.DefinitionString;
  const text = resolveIntrinsics(raw, template);
  if (typeof text !== 'string') throw new AslResolveError(`${logicalId}: DefinitionString is not a string`);
  return { logicalId, definition: JSON.parse(text) as Record<string, unknown> };
}
