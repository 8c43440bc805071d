import { type HostOperationName, isHostOperation } from '../../shared/operations.ts';
import type { StateMachineName } from '../../shared/ports.ts';
import type { AslDefinition } from './asl.ts';
import { extractStateMachine } from './template-asl.ts';

/** The construct ids of the pipelines in the CDK app: a contract with cdk/. */
export const STATE_MACHINE_IDS: Record<StateMachineName, string> = {
  compose: 'ComposePipeline',
  staging: 'StagingPipeline',
  promotion: 'PromotionPipeline',
  'minor-release': 'MinorReleasePipeline',
};

/** Metadata keys cdk/ puts on resources so the engine can serve them. */
export const METADATA = {
  operation: 'releng:operation',
  function: 'releng:function',
  install: 'releng:install',
} as const;

/** What each placeholder in the resolved ASL stands for, keyed by the resource's logical id. */
export interface ResourceIndex {
  /** SSM Command document → the host operation it runs. */
  operations: Record<string, HostOperationName>;
  /** SSM Command document → its content (the local agent runs it as the agent on a host would). */
  documents: Record<string, unknown>;
  /** The document that installs releng-host on the hosts (tagged `releng:install`). */
  installDocument?: string;
  /** Lambda function → its handler name (`koji-events`, `approval-request`, …). */
  functions: Record<string, string>;
  stateMachines: Record<string, StateMachineName>;
  /** DynamoDB table → its key attribute names (hash, then range). */
  tables: Record<string, string[]>;
  /** SQS queue → the handler its event source mapping feeds, if any. */
  queueConsumers: Record<string, string>;
}

export interface EngineDefinitions {
  machines: Partial<Record<StateMachineName, AslDefinition>>;
  index: ResourceIndex;
}

/** For commands that only read the engine's state (status, history, approve): no synth needed. */
export const NO_DEFINITIONS: EngineDefinitions = {
  machines: {},
  index: { operations: {}, documents: {}, functions: {}, stateMachines: {}, tables: {}, queueConsumers: {} },
};

interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}
export interface CfnTemplate {
  Resources?: Record<string, TemplateResource>;
}

/** The logical id a reference (`Ref`, `Fn::GetAtt …Arn`) of this resource points at. */
function referencedId(value: unknown): string | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') return v.Ref;
  const att = v['Fn::GetAtt'];
  if (Array.isArray(att)) return String(att[0]);
  if (typeof att === 'string') return att.split('.')[0];
  return undefined;
}

/** Reads the state machines and the resource index out of a synthesized template. */
export function definitionsFromTemplate(template: CfnTemplate): EngineDefinitions {
  const resources = template.Resources ?? {};
  const index: ResourceIndex = {
    operations: {},
    documents: {},
    functions: {},
    stateMachines: {},
    tables: {},
    queueConsumers: {},
  };
  for (const [id, resource] of Object.entries(resources)) {
    const operation = resource.Metadata?.[METADATA.operation];
    if (resource.Type === 'AWS::SSM::Document' && typeof operation === 'string') {
      if (!isHostOperation(operation)) throw new Error(`${id}: unknown host operation ${operation}`);
      index.operations[id] = operation;
    }
    if (resource.Type === 'AWS::SSM::Document') index.documents[id] = resource.Properties?.Content;
    if (resource.Type === 'AWS::SSM::Document' && resource.Metadata?.[METADATA.install])
      index.installDocument = id;
    const fn = resource.Metadata?.[METADATA.function];
    if (resource.Type === 'AWS::Lambda::Function' && typeof fn === 'string') index.functions[id] = fn;
    if (resource.Type === 'AWS::DynamoDB::Table' || resource.Type === 'AWS::DynamoDB::GlobalTable') {
      const keys =
        (resource.Properties?.KeySchema as Array<{ AttributeName: string; KeyType: string }>) ?? [];
      index.tables[id] = [...keys]
        .sort((a, b) => (a.KeyType === 'HASH' ? -1 : b.KeyType === 'HASH' ? 1 : 0))
        .map((k) => k.AttributeName);
    }
  }
  const tables = Object.keys(index.tables);
  // Locally every port and task shares the engine's one state table (local-table.ts).
  if (tables.length > 1)
    throw new Error(
      `the local engine keeps one state table; this app declares ${tables.length}: ${tables.join(', ')}`,
    );
  for (const resource of Object.values(resources)) {
    if (resource.Type !== 'AWS::Lambda::EventSourceMapping') continue;
    const queue = referencedId(resource.Properties?.EventSourceArn);
    const fn = referencedId(resource.Properties?.FunctionName);
    const handler = fn ? index.functions[fn] : undefined;
    if (queue && handler && resources[queue]?.Type === 'AWS::SQS::Queue')
      index.queueConsumers[queue] = handler;
  }
  const machines: EngineDefinitions['machines'] = {};
  for (const [name, prefix] of Object.entries(STATE_MACHINE_IDS) as Array<[StateMachineName, string]>) {
    const present = Object.entries(resources).some(
      ([id, r]) => r.Type === 'AWS::StepFunctions::StateMachine' && id.startsWith(prefix),
    );
    if (!present) continue;
    const { logicalId, definition } = extractStateMachine(template, prefix);
    machines[name] = definition as unknown as AslDefinition;
    index.stateMachines[logicalId] = name;
  }
  return { machines, index };
}

/**
 * Finds which resource of `table` a placeholder ARN, name or URL names: the resolver in
 * template-asl.ts ends every placeholder with the logical id, possibly followed by a qualifier.
 */
export function lookupResource<T>(table: Record<string, T>, reference: unknown, what: string): [string, T] {
  if (typeof reference !== 'string')
    throw new Error(`${what}: expected a name or ARN, got ${JSON.stringify(reference)}`);
  const segments = reference.split(/[:/]/).reverse();
  for (const segment of segments) {
    if (Object.hasOwn(table, segment)) return [segment, table[segment]!];
  }
  throw new Error(`${what} ${JSON.stringify(reference)} is not a resource the local engine knows`);
}
