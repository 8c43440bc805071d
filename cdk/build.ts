import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { ReleaseConfig } from '../shared/config/schema.ts';
import { RelengStack } from './stacks/releng-stack.ts';

export interface BuildRelengAppOptions {
  readonly config: ReleaseConfig;
  /** The config overrides the hosts and Lambdas receive. @default {} (the defaults) */
  readonly configOverrides?: unknown;
  /** Bundle Lambdas and the host entry with esbuild. @default true */
  readonly bundling?: boolean;
  /** Run cdk-nag's AwsSolutions checks at synth. @default true */
  readonly nag?: boolean;
  /** Add to this app. @default - a new App */
  readonly app?: App;
}

/** The stack id: one stack per stage. */
export const stackId = (stage: string) => `Releng-${stage}`;

/**
 * Builds the app for a config: the one entry `cdk/app.ts`, the tests and the local engine share.
 * The engine passes `bundling: false` and reads the state machines from the stack's template.
 */
export function buildRelengApp(options: BuildRelengAppOptions): { app: App; stack: RelengStack } {
  const app =
    options.app ?? new App(options.bundling === false ? { context: { 'aws:cdk:bundling-stacks': [] } } : {});
  const { config } = options;
  const stack = new RelengStack(app, stackId(config.stage), {
    config,
    configOverrides: options.configOverrides ?? {},
    description: `Rocky Linux release pipeline (${config.stage})`,
    env:
      config.aws.account || config.aws.region
        ? { account: config.aws.account, region: config.aws.region }
        : undefined,
    tags: { project: 'rocky-releng', stage: config.stage },
  });
  if (options.nag !== false) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  }
  return { app, stack };
}
