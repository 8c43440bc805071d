import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EFSClient } from '@aws-sdk/client-efs';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * Every AWS call is bounded: a connection and request timeout, and at most 3 attempts with the
 * SDK's standard backoff. A Lambda that hangs on a call would hold its SQS batch invisible.
 */
export const AWS_CALL_LIMITS = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
} as const;

/** Clients are made once per Lambda container (module scope of the handler), never per call. */
export const createSfnClient = () => new SFNClient({ ...AWS_CALL_LIMITS });
export const createSnsClient = () => new SNSClient({ ...AWS_CALL_LIMITS });
export const createEfsClient = () => new EFSClient({ ...AWS_CALL_LIMITS });
export const createDynamoClient = () => new DynamoDBClient({ ...AWS_CALL_LIMITS });
export const createDocumentClient = (client = createDynamoClient()) =>
  DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
