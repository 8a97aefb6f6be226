/**
 * The Pub/Sub backend's Queue (docs/queue.md, "Pub/Sub"): a lease is a unary pull plus an ack
 * deadline (at most 600 s per call), renew = modifyAckDeadline, release = a deadline of 0 (or of
 * the retry delay), delete = ack, attempts = `deliveryAttempt` (set where the subscription has a
 * dead-letter policy), dead letters = messages published to the dead-letter topic with our
 * failure record in attributes. Pub/Sub cannot count a backlog: `counts()` says so, and
 * `isEmpty()` is drain detection by consecutive empty pulls.
 */
import { QueueError } from './errors';
import { deadLetterNames, readSubscription, SubscriptionSettings } from './pubsubAdmin';
import { makePubsubClients, PubsubClients, PubsubLocation, pubsubNames, SECOND } from './pubsubClient';
import { grpcStatus, mapPubsubError } from './pubsubErrors';
import { batchingTopic, BATCH_MAX_MESSAGES, publishMessages } from './pubsubInsert';
import {
  readDeadLetterSubscription,
  type DeadLetterCalls,
  type DeadLetterRead,
  type PullAnswer,
  type ReceivedMessage,
} from './pubsubDeadReader';
import {
  deadLetterAttributes,
  MAX_ACK_DEADLINE_SECONDS,
  TASK_ID_ATTRIBUTE,
  dataOf,
  notTextFailure,
  taskIdOf,
  toDeadLetter,
  toLeasedTask,
} from './pubsubMessages';
import { decodeUtf8Strictly } from '../utf8';
import type {
  DeadLetter,
  FailureRecord,
  InsertOptions,
  LeasedTask,
  LeaseOptions,
  Queue,
  QueueCounts,
  QueueMessage,
} from './types';
import { settingRef } from '../settings/table';

export interface PubsubQueueDescription extends SubscriptionSettings {
  readonly topic: string;
  readonly subscription: string;
  readonly deadTopic: string;
  readonly deadSubscription: string;
}

/** Consecutive empty pulls after which `isEmpty()` calls the queue drained. */
export const EMPTY_PULLS_TO_DRAIN = 3;
/** Longest single pull while long-polling, so an aborted lease returns soon. */
const PULL_SLICE_SECONDS = 5;
const CANCELLED = 1;
const DEADLINE_EXCEEDED = 4;
/** Handles remembered as acked or released (so a later renew is a LeaseLost), and fallback tallies. */
const REMEMBERED = 100_000;

function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > REMEMBERED) map.delete(map.keys().next().value as K);
}

export class PubsubQueue implements Queue {
  readonly kind = 'pubsub' as const;
  readonly url: string;
  private readonly names;
  /** The batching publisher of the topic, made at the first insert (a look at the queue needs none). */
  private topic?: ReturnType<typeof batchingTopic>;
  private settings?: Promise<SubscriptionSettings>;
  /** How long reading the settings took: a round trip (with connecting) to the service, for the dead-letter read. */
  private settingsReadMs?: number;
  private emptyPulls = 0;
  /** Ack ids this object holds a lease on → when the lease ends. */
  private readonly held = new Map<string, number>();
  /** Ack ids acked or released here: renewing one is a lost lease. */
  private readonly finished = new Map<string, true>();
  /** Without a dead-letter policy: leases of each message id seen by this process. */
  private readonly tallies = new Map<string, number>();
  /** Until when a release with a delay from this process keeps the queue from counting as drained. */
  private pendingUntil = 0;

  constructor(
    private readonly location: PubsubLocation,
    private readonly clients: PubsubClients = makePubsubClients(location.project),
  ) {
    this.url = location.url;
    this.names = pubsubNames(location);
  }

  private context(action: string, resource: string) {
    return { action, queue: this.url, resource };
  }

  /** The subscription's settings, read once (a failed read is tried again next time). */
  subscriptionSettings(): Promise<SubscriptionSettings> {
    if (!this.settings) {
      const started = Date.now();
      this.settings = readSubscription(this.clients, this.names.subscription, this.url);
      void this.settings.then(() => (this.settingsReadMs = Date.now() - started)).catch(() => undefined);
    }
    this.settings.catch(() => (this.settings = undefined));
    return this.settings;
  }

  /** What the API can tell about the queue: its resources and the subscription's settings. */
  async describe(): Promise<PubsubQueueDescription> {
    const settings = await this.subscriptionSettings();
    const dead = deadLetterNames(this.location, settings);
    return {
      topic: this.names.topic,
      subscription: this.names.subscription,
      deadTopic: dead.topic,
      deadSubscription: dead.subscription,
      ...settings,
    };
  }

  private async deadLetters(): Promise<{ topic: string; subscription: string }> {
    return deadLetterNames(this.location, await this.subscriptionSettings());
  }

  async insert(
    messages: Iterable<QueueMessage> | AsyncIterable<QueueMessage>,
    options: InsertOptions = {},
  ): Promise<number> {
    this.topic ??= batchingTopic(this.clients.pubsub, this.names.topic);
    return publishMessages(this.topic, this.url, messages, options);
  }

  /**
   * One unary pull. `waitSeconds` (leasing): how long the service may hold it for messages (0: answer
   * at once), plus 2 s for the answer; `timeoutMs`: the call's whole deadline, a pull that waits.
   */
  private async pull(
    subscription: string,
    max: number,
    wait: { waitSeconds: number } | { timeoutMs: number },
  ): Promise<PullAnswer> {
    const returnImmediately = 'waitSeconds' in wait && wait.waitSeconds === 0;
    const timeout = 'timeoutMs' in wait ? wait.timeoutMs : Math.max(1, wait.waitSeconds) * SECOND + 2 * SECOND;
    const endsAt = Date.now() + timeout;
    try {
      const [reply] = await this.clients.subscriber.pull(
        { subscription, maxMessages: max, returnImmediately },
        { timeout, retry: null },
      );
      return { received: reply.receivedMessages ?? [], timedOut: false };
    } catch (error) {
      // Its deadline passed with nothing brought: as the server saw it first (pstest), CANCELLED.
      const code = grpcStatus(error);
      if (code === DEADLINE_EXCEEDED || (code === CANCELLED && Date.now() >= endsAt)) {
        return { received: [], timedOut: true };
      }
      throw mapPubsubError(error, this.context('pull from', `Pub/Sub subscription ${subscription}`));
    }
  }

  private async modifyDeadline(subscription: string, ackIds: string[], seconds: number, action: string): Promise<void> {
    if (ackIds.length === 0) return;
    try {
      await this.clients.subscriber.modifyAckDeadline({ subscription, ackIds, ackDeadlineSeconds: seconds });
    } catch (error) {
      throw mapPubsubError(error, this.context(action, `Pub/Sub subscription ${subscription}`));
    }
  }

  private async acknowledge(subscription: string, ackIds: string[], action: string): Promise<void> {
    if (ackIds.length === 0) return;
    try {
      await this.clients.subscriber.acknowledge({ subscription, ackIds });
    } catch (error) {
      throw mapPubsubError(error, this.context(action, `Pub/Sub subscription ${subscription}`));
    }
  }

  async lease({ count, seconds, waitSeconds = 0, signal }: LeaseOptions): Promise<LeasedTask[]> {
    if (!(seconds > 0)) throw new RangeError(`lease seconds must be > 0, got ${seconds}`);
    if (seconds > MAX_ACK_DEADLINE_SECONDS) {
      throw new QueueError(
        'UnsupportedOperation',
        `cannot lease for ${seconds} s from ${this.url}: a Pub/Sub ack deadline is at most ` +
          `${MAX_ACK_DEADLINE_SECONDS} s per call`,
        `set ${settingRef('leaseSeconds')} to ${MAX_ACK_DEADLINE_SECONDS} or less: the worker renews the lease every ` +
          `third of it, so tasks may run longer`,
      );
    }
    const settings = await this.subscriptionSettings();
    const deadline = Math.ceil(seconds);
    const waitUntil = Date.now() + Math.max(0, waitSeconds) * SECOND;
    const leased: LeasedTask[] = [];
    while (leased.length < count && !signal?.aborted) {
      const pulledAt = Date.now();
      const remaining = Math.max(0, Math.ceil((waitUntil - pulledAt) / SECOND));
      const want = Math.min(BATCH_MAX_MESSAGES, count - leased.length);
      const { received } = await this.pull(this.names.subscription, want, {
        waitSeconds: leased.length > 0 ? 0 : Math.min(PULL_SLICE_SECONDS, remaining),
      });
      if (received.length > 0) {
        const ackIds = received.map((m) => m.ackId ?? '');
        // The pull leased them for the subscription's deadline: set the one asked for.
        const datedAt = await this.datedDeadline(ackIds, pulledAt, deadline, settings.ackDeadlineSeconds);
        for (const message of received) {
          const attempt = this.attemptOf(message, settings);
          const decoded = decodeUtf8Strictly(dataOf(message));
          if (!decoded.ok) {
            await this.deadLetterNotText(message, attempt, decoded.where);
            continue;
          }
          const task = toLeasedTask(message, datedAt, deadline, attempt);
          this.held.set(task.handle, task.leaseExpiresAt);
          leased.push(task);
        }
      }
      if (received.length < want && (leased.length > 0 || Date.now() >= waitUntil)) break;
    }
    if (leased.length === 0) this.emptyPulls++;
    else this.emptyPulls = 0;
    return leased;
  }

  /**
   * Sets the deadline asked for when the subscription's differs, and returns when the lease began,
   * at the latest known. A pull's deadline starts between its request and its answer, so it is
   * dated from the request; after a pull that waited over a third of the deadline, that date would
   * make the lease look lost on arrival, so the deadline is set again at once, dated from that short
   * call (if that fails, the request's date still holds).
   */
  private async datedDeadline(
    ackIds: string[],
    pulledAt: number,
    deadline: number,
    subscriptionDeadline: number,
  ): Promise<number> {
    const waited = Date.now() - pulledAt > (deadline * SECOND) / 3;
    if (deadline === subscriptionDeadline && !waited) return pulledAt;
    const sentAt = Date.now();
    try {
      await this.modifyDeadline(this.names.subscription, ackIds, deadline, 'set the lease on');
    } catch (error) {
      if (deadline !== subscriptionDeadline) throw error;
      return pulledAt;
    }
    return sentAt;
  }

  private attemptOf(message: ReceivedMessage, settings: SubscriptionSettings): number {
    if (settings.deadLetterTopic && message.deliveryAttempt) return message.deliveryAttempt;
    const id = message.message?.messageId ?? '';
    const attempt = (this.tallies.get(id) ?? 0) + 1;
    remember(this.tallies, id, attempt);
    return attempt;
  }

  /** Pub/Sub accepts a stale ack id silently, so a lost lease is decided here: ended, acked or given back. */
  private assertHeld(task: LeasedTask): void {
    const ended = this.finished.has(task.handle) || Date.now() >= task.leaseExpiresAt;
    if (!ended) return;
    throw new QueueError(
      'LeaseLost',
      `task ${task.id}: the lease on ${this.url} is no longer held (` +
        (this.finished.has(task.handle)
          ? 'the task was already acked or released'
          : `its ack deadline passed at ${new Date(task.leaseExpiresAt).toISOString()}`) +
        ')',
      'Pub/Sub may have delivered it to another worker; lease for longer or renew sooner',
    );
  }

  private settle(task: LeasedTask): void {
    this.held.delete(task.handle);
    remember(this.finished, task.handle, true);
  }

  async renew(task: LeasedTask, seconds: number): Promise<LeasedTask> {
    this.assertHeld(task);
    const now = Date.now();
    const deadline = Math.min(MAX_ACK_DEADLINE_SECONDS, Math.max(1, Math.ceil(seconds)));
    await this.modifyDeadline(
      this.names.subscription,
      [task.handle],
      deadline,
      `renew the lease of task ${task.id} on`,
    );
    const renewed = { ...task, leaseExpiresAt: now + deadline * SECOND };
    this.held.set(task.handle, renewed.leaseExpiresAt);
    return renewed;
  }

  async release(task: LeasedTask, delaySeconds = 0): Promise<void> {
    const delay = Math.min(MAX_ACK_DEADLINE_SECONDS, Math.max(0, Math.ceil(delaySeconds)));
    await this.modifyDeadline(this.names.subscription, [task.handle], delay, `release task ${task.id} to`);
    this.settle(task);
    if (delay > 0) this.pendingUntil = Math.max(this.pendingUntil, Date.now() + delay * SECOND);
  }

  async delete(task: LeasedTask): Promise<void> {
    await this.acknowledge(this.names.subscription, [task.handle], `ack (delete) task ${task.id} on`);
    this.settle(task);
  }

  async deleteMany(tasks: readonly LeasedTask[]): Promise<Array<Error | undefined>> {
    // Like delete(): one acknowledge for all (Pub/Sub answers for the call, not per ack id).
    await this.acknowledge(
      this.names.subscription,
      tasks.map((task) => task.handle),
      `ack (delete) ${tasks.length} task(s) on`,
    );
    for (const task of tasks) this.settle(task);
    return tasks.map(() => undefined);
  }

  /**
   * A message whose data is not UTF-8 cannot be a task (task messages are JSON): decoded leniently,
   * its bad bytes would reach the task as U+FFFD without a word. It goes to the dead-letter topic
   * at once with its bytes unchanged and a record saying where the first bad byte is.
   */
  private async deadLetterNotText(message: ReceivedMessage, attempt: number, where: string): Promise<void> {
    const id = taskIdOf(message);
    await this.publishDeadLetter(id, dataOf(message), notTextFailure(id, attempt, where), 'message');
    await this.acknowledge(this.names.subscription, [message.ackId ?? ''], `remove message ${id} from`);
  }

  async deadLetter(task: LeasedTask, failure: FailureRecord): Promise<void> {
    await this.publishDeadLetter(task.id, Buffer.from(task.body, 'utf8'), failure, 'task');
    await this.delete(task);
  }

  /** Publishes `data` with its failure record to the dead-letter topic. */
  private async publishDeadLetter(id: string, data: Uint8Array, failure: FailureRecord, noun: string): Promise<void> {
    const dead = await this.deadLetters();
    try {
      await this.clients.pubsub.topic(dead.topic).publishMessage({
        data: Buffer.from(data),
        attributes: deadLetterAttributes(id, failure),
      });
    } catch (error) {
      throw mapPubsubError(error, this.context(`dead-letter ${noun} ${id} to`, `Pub/Sub topic ${dead.topic}`));
    }
  }

  /** Reads the dead-letter subscription (lib/queue/pubsubDeadReader.ts), giving back what it read. */
  private async readDead(
    visit: (messages: ReceivedMessage[], subscription: string) => Promise<void>,
    budgetMs?: number,
  ): Promise<DeadLetterRead> {
    const { subscription } = await this.deadLetters();
    const calls: DeadLetterCalls = {
      pull: (maxMessages, timeoutMs) => this.pull(subscription, maxMessages, { timeoutMs }),
      setDeadline: (ackIds, seconds, action) => this.modifyDeadline(subscription, ackIds, seconds, action),
    };
    return readDeadLetterSubscription(calls, {
      budgetMs,
      roundTripMs: this.settingsReadMs,
      visit: (messages) => visit(messages, subscription),
    });
  }

  async *listDeadLetters(): AsyncIterable<DeadLetter> {
    const found: DeadLetter[] = [];
    await this.readDead(async (messages) => {
      found.push(...messages.map(toDeadLetter));
    });
    yield* found;
  }

  /**
   * Counts the dead letters by reading them for at most about `budgetMs` (then giving them back):
   * `complete` is false when time ran out first, and `count` is then a lower bound.
   */
  async countDeadLetters(budgetMs: number): Promise<{ count: number; complete: boolean }> {
    const read = await this.readDead(async () => undefined, budgetMs);
    return { count: read.read, complete: read.complete };
  }

  async requeueDeadLetters(ids?: readonly string[]): Promise<number> {
    const wanted = ids ? new Set(ids) : undefined;
    let moved = 0;
    await this.readDead(async (messages, subscription) => {
      const move = messages.filter((m) => !wanted || wanted.has(taskIdOf(m)));
      if (move.length === 0) return;
      await this.insert(
        move.map((m) => ({
          id: m.message?.attributes?.[TASK_ID_ATTRIBUTE] || taskIdOf(m),
          body: toDeadLetter(m).body,
        })),
      );
      await this.acknowledge(
        subscription,
        move.map((m) => m.ackId ?? ''),
        'remove requeued dead letters from',
      );
      moved += move.length;
    });
    return moved;
  }

  async counts(): Promise<QueueCounts> {
    await this.subscriptionSettings();
    throw new QueueError(
      'UnsupportedOperation',
      `cannot count the tasks in ${this.url}: Pub/Sub's API has no backlog count`,
      'Cloud Monitoring has it (pubsub.googleapis.com/subscription/num_undelivered_messages, 1–2 min behind; the ' +
        "console's subscription page shows it); `npm run status` shows what the API can tell",
    );
  }

  /**
   * Drain detection: true once this object's last EMPTY_PULLS_TO_DRAIN leases in a row found
   * nothing, it holds no lease, and no release it made with a delay is still pending. It makes no
   * call of its own but a subscription read (which also checks the queue exists): a pull would
   * count as a delivery attempt of whatever it found.
   */
  async isEmpty(): Promise<boolean> {
    await this.subscriptionSettings();
    const now = Date.now();
    for (const [handle, until] of this.held) if (until <= now) this.held.delete(handle);
    return this.emptyPulls >= EMPTY_PULLS_TO_DRAIN && this.held.size === 0 && now >= this.pendingUntil;
  }

  async releaseAll(): Promise<number> {
    throw new QueueError(
      'UnsupportedOperation',
      `cannot release all leases on ${this.url}: Pub/Sub has no way to list the ack ids of outstanding messages`,
      'leased tasks are delivered again by themselves when their ack deadline (the lease) runs out',
    );
  }

  /**
   * Seek to now on the subscription and on the dead-letter subscription: every message published before now is acked.
   */
  async purge(): Promise<void> {
    const dead = await this.deadLetters();
    const time = { seconds: Math.ceil(Date.now() / SECOND) };
    for (const subscription of [this.names.subscription, dead.subscription]) {
      try {
        await this.clients.subscriber.seek({ subscription, time });
      } catch (error) {
        throw mapPubsubError(error, this.context('purge (seek to now)', `Pub/Sub subscription ${subscription}`));
      }
    }
    this.held.clear();
  }

  async close(): Promise<void> {
    await this.topic?.flush().catch(() => undefined);
    await this.clients.close();
  }
}
