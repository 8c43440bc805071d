/**
 * The parts of Amazon States Language the engine needs to know about: which Task states exist
 * (at any depth, inside Map and Parallel), what each one's Resource asks for, and which Wait
 * states to shorten locally.
 */

export interface AslState {
  Type: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  Seconds?: number;
  TimeoutSeconds?: number;
  ItemProcessor?: AslDefinition;
  Iterator?: AslDefinition;
  Branches?: AslDefinition[];
  Next?: string;
  Default?: string;
  Choices?: Array<Record<string, unknown>>;
  Catch?: Array<{ ErrorEquals: string[]; Next: string }>;
  [key: string]: unknown;
}

export interface AslDefinition {
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
  Comment?: string;
}

export interface NamedState {
  name: string;
  state: AslState;
  /** Names of the Map/Parallel states this one is nested in, outermost first. */
  parents: string[];
}

/** Every state of a definition, nested ones included, depth first. */
export function allStates(definition: AslDefinition, parents: string[] = []): NamedState[] {
  const out: NamedState[] = [];
  for (const [name, state] of Object.entries(definition.States)) {
    out.push({ name, state, parents });
    const inner = [state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])].filter(
      (d): d is AslDefinition => d !== undefined,
    );
    for (const sub of inner) out.push(...allStates(sub, [...parents, name]));
  }
  return out;
}

export type IntegrationPattern = 'request-response' | 'wait-for-task-token' | 'sync';

/** What a Task's Resource names: `ssm:sendCommand`, `lambda:invoke`, `dynamodb:putItem`, … */
export interface TaskResource {
  service: string;
  action: string;
  pattern: IntegrationPattern;
  /** `aws-sdk` integrations raise `Service.ErrorName` with the SDK's casing of the service. */
  sdk: boolean;
  /** `.sync`, `.sync:2`, `.waitForTaskToken`, or undefined. */
  suffix?: string;
}

export class UnservedResourceError extends Error {
  override readonly name = 'UnservedResourceError';
}

const SERVICE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]*:[0-9]*:(aws-sdk:)?([a-z0-9]+):([A-Za-z0-9]+)(\..+)?$/;

/** Parses a Task Resource ARN; a bare Lambda ARN is a `lambda:invoke` of that function. */
export function parseTaskResource(resource: string): TaskResource {
  if (/^arn:aws[a-z-]*:lambda:/.test(resource)) {
    return { service: 'lambda', action: 'invoke', pattern: 'request-response', sdk: false };
  }
  const match = SERVICE_ARN.exec(resource);
  if (!match)
    throw new UnservedResourceError(`task resource ${JSON.stringify(resource)} is not a service ARN`);
  const suffix = match[4];
  const pattern: IntegrationPattern =
    suffix === '.waitForTaskToken'
      ? 'wait-for-task-token'
      : suffix?.startsWith('.sync')
        ? 'sync'
        : 'request-response';
  return { service: match[2]!, action: match[3]!, pattern, sdk: match[1] !== undefined, suffix };
}

/** Every Task state with its parsed resource. */
export function taskStates(definition: AslDefinition): Array<NamedState & { resource: TaskResource }> {
  return allStates(definition)
    .filter((s) => s.state.Type === 'Task')
    .map((s) => {
      if (!s.state.Resource) throw new UnservedResourceError(`task ${s.name} has no Resource`);
      return { ...s, resource: parseTaskResource(s.state.Resource) };
    });
}

/** Deep copy of a JSON value with every string equal to `from` replaced by `to`. */
export function replaceString<T>(value: T, from: string, to: string): T {
  if (value === from) return to as T;
  if (Array.isArray(value)) return value.map((v) => replaceString(v, from, to)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceString(v, from, to)])) as T;
  }
  return value;
}
