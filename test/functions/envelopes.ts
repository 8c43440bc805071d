/** The envelopes AWS puts around a koji message on its way to the koji queue. */

/** An SNS notification as SQS holds it when raw message delivery is off. */
export const inSns = (message: unknown) => ({
  Type: 'Notification',
  MessageId: '9d9b3a53-3f55-5d2f-a5a5-6f0c1d3e8f21',
  TopicArn: 'arn:aws:sns:eu-west-1:111111111111:koji-events',
  Message: JSON.stringify(message),
  Timestamp: '2026-11-27T10:00:05.123Z',
  SignatureVersion: '1',
  Signature: 'c2lnbmF0dXJl',
  SigningCertURL: 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000.pem',
  UnsubscribeURL: 'https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe',
});

/** An EventBridge event as an SQS target receives it. */
export const inEventBridge = (message: unknown) => ({
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'koji message',
  source: 'org.rockylinux.koji-bridge',
  account: '111111111111',
  time: '2026-11-27T10:00:05Z',
  region: 'eu-west-1',
  resources: [],
  detail: message,
});
