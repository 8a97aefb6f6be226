/**
 * Turns Pub/Sub client (gRPC) failures into typed queue errors that say what to do (the code is decided in
 * classify.ts).
 */
import { classifyPubsubError } from './classify';
import { QueueError } from './errors';
import { pubsubEndpointDescription } from './pubsubClient';
import { settingRef } from '../settings/table';

export interface PubsubErrorContext {
  /** e.g. "pull from" */
  readonly action: string;
  /** The queue URL (for the create command) and the resource the call was about. */
  readonly queue: string;
  readonly resource: string;
}

/** The gRPC status of an error from the client, if it has one. */
export function grpcStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

const PERMISSIONS =
  'roles/pubsub.publisher on the topic and the dead-letter topic, roles/pubsub.subscriber on the subscription and ' +
  'the dead-letter subscription (roles/pubsub.editor for queue:create and purge)';

export function mapPubsubError(error: unknown, context: PubsubErrorContext): Error {
  if (error instanceof QueueError) return error;
  const status = grpcStatus(error);
  const message = error instanceof Error ? error.message : String(error);
  const code = classifyPubsubError(status, message);
  const what = `cannot ${context.action} ${context.resource}`;
  const fail = (text: string, hint?: string) => new QueueError(code, `${what}: ${text}`, hint, { cause: error });
  switch (code) {
    case 'QueueNotFound':
      return fail(
        `it does not exist (${message})`,
        `create the queue with \`npm run queue:create -- --queue ${context.queue}\`, ` +
          `or check ${settingRef('queueUrl')}`,
      );
    case 'NoCredentials':
      return fail(
        `no usable Google credentials (${message.split('\n')[0]})`,
        "on GKE enable Workload Identity and bind the pod's Kubernetes service account to a Google service account; " +
          'locally run `gcloud auth application-default login`, or set PUBSUB_EMULATOR_HOST for an emulator',
      );
    case 'PermissionDenied':
      return fail(`permission denied (${message})`, `grant the workload's service account ${PERMISSIONS}`);
    case 'Unreachable':
      return fail(
        `Pub/Sub at ${pubsubEndpointDescription()} is unreachable (${message.split('\n')[0]})`,
        'check the network, and PUBSUB_EMULATOR_HOST if you use a local emulator',
      );
    default:
      return fail(message);
  }
}
