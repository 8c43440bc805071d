import { Template } from 'aws-cdk-lib/assertions';
import { buildRelengApp } from '../../cdk/build.ts';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { type CfnTemplate, definitionsFromTemplate, type EngineDefinitions } from './definitions.ts';

/** The synthesized template of the app `cdk deploy` deploys, for this config, without bundling. */
export function synthesizeTemplate(config: ReleaseConfig): CfnTemplate {
  const { stack } = buildRelengApp({ config, bundling: false, nag: false });
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

/**
 * The state machines the engine runs: read out of the synthesized CDK app, so what runs
 * locally is what deploys.
 */
export async function localDefinitions(config: ReleaseConfig): Promise<EngineDefinitions> {
  return definitionsFromTemplate(synthesizeTemplate(config));
}
