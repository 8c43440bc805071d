import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** The Lambda handlers in functions/, by directory name. */
export const FUNCTION_NAMES = [
  'koji-events',
  'promotion-events',
  'approval-request',
  'efs-preflight',
  'host-command',
  'host-command-events',
  'execution-cleanup',
  'koji-poller',
] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** Handlers only some configurations deploy: koji-poller only when koji.hubUrl is set. */
export const CONFIG_GATED_FUNCTIONS: readonly FunctionName[] = ['koji-poller'];

export function functionEntry(name: FunctionName): string {
  return fileURLToPath(new URL(`../../functions/${name}/handler.ts`, import.meta.url));
}

export interface RelengFunctionProps {
  /** Which handler in functions/ this function runs. */
  readonly handlerName: FunctionName;
  readonly environment?: Record<string, string>;
  /** @default 30 seconds */
  readonly timeout?: Duration;
  /** @default 1 month */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * A Lambda from functions/ with the project's operating defaults: Node 24 on arm64, minified
 * ESM bundle without source maps, X-Ray tracing, its own log group with retention, and the
 * `releng:function` metadata the local engine maps a Lambda ARN back to the handler with.
 */
export class RelengFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: RelengFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    super(scope, id, {
      entry: functionEntry(props.handlerName),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      // No source maps: they were 80% of each zip, and a cold start reads the whole bundle.
      ...(props.environment ? { environment: props.environment } : {}),
      bundling: {
        format: OutputFormat.ESM,
        sourceMap: false,
        minify: true,
        target: 'node24',
        forceDockerBundling: false,
        // ESM bundles of CommonJS dependencies need a require().
        banner:
          "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
    });
    (this.node.defaultChild as lambda.CfnFunction).addMetadata('releng:function', props.handlerName);
    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'the basic execution role only lets the function write its own logs',
      },
      {
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords) has no resource-level permissions',
      },
    );
  }
}
