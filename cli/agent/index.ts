/**
 * The local twin of the SSM agent: runs the synthesized SSM Command documents on a host root.
 * See LocalAgent for the API and local-s3.ts for how S3 URLs map to a local directory.
 */
export {
  type AgentInvocation,
  type AgentStatus,
  LocalAgent,
  type LocalAgentOptions,
  STDERR_LIMIT,
  STDOUT_LIMIT,
  type StartedCommand,
  type StartOptions,
  type StepInvocation,
} from './local-agent.ts';
export { LocalS3, parseS3Url, type S3Location } from './local-s3.ts';
export { InvalidParametersError } from './parameters.ts';
