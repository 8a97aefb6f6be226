/** The dev stack switched to a Pub/Sub queue, as a Google-Cloud-only user sets it, for the Pub/Sub infra tests. */
import type { DevConfig } from './devStack';

export const PUBSUB_PROJECT = 'my-gcp-project';
export const PUBSUB_QUEUE = `pubsub://${PUBSUB_PROJECT}/jobs`;

/** The dev stack on Pub/Sub with gs:// outputs and no aws key at all, changed further by `change`. */
export function pubsubStack(change: (c: DevConfig) => void = () => undefined) {
  return (c: DevConfig) => {
    c['gke-batch:queueUrl'] = PUBSUB_QUEUE;
    delete c['gke-batch:aws'];
    change(c);
  };
}
