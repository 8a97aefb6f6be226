/**
 * SQS messages ↔ our types. The task id travels in a `taskId` message attribute, so it is read
 * back without parsing the body; a message without one (python-task-queue inserts none) is known
 * by its MessageId. A dead letter's failure record travels in a `failure` attribute.
 */
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import { SECOND } from './sqsClient';
import type { DeadLetter, FailureRecord, LeasedTask } from './types';

export const TASK_ID_ATTRIBUTE = 'taskId';
export const FAILURE_ATTRIBUTE = 'failure';
/** SQS cannot extend a message's visibility past 12 hours after its receive. */
export const MAX_VISIBILITY_SECONDS = 12 * 60 * 60;

export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** A string message attribute (the only kind we send). */
export interface StringAttribute {
  readonly DataType: 'String';
  readonly StringValue: string;
}

/** The attributes that carry a task id, and the bytes they add to the message's size. */
export function taskIdAttributes(id: string): Record<string, StringAttribute> {
  return { [TASK_ID_ATTRIBUTE]: { DataType: 'String', StringValue: id } };
}

export function taskIdAttributeBytes(id: string): number {
  return byteLength(TASK_ID_ATTRIBUTE) + byteLength('String') + byteLength(id);
}

/** Task id of a message: our `taskId` attribute, else the MessageId. */
export function taskIdOf(message: Message): string {
  const id = message.MessageAttributes?.[TASK_ID_ATTRIBUTE]?.StringValue;
  return id !== undefined && id !== '' ? id : (message.MessageId ?? '');
}

export function toLeasedTask(message: Message, receivedAt: number, visibility: number): LeasedTask {
  const attributes = message.Attributes ?? {};
  const firstReceive = Number(attributes.ApproximateFirstReceiveTimestamp);
  return {
    id: taskIdOf(message),
    body: message.Body ?? '',
    attempt: Math.max(1, Number(attributes.ApproximateReceiveCount) || 1),
    handle: message.ReceiptHandle ?? '',
    leaseExpiresAt: receivedAt + visibility * SECOND,
    firstLeasedAt: Number.isFinite(firstReceive) ? firstReceive : undefined,
    leaseCeilingAt: receivedAt + MAX_VISIBILITY_SECONDS * SECOND,
  };
}

/**
 * The failure record as a message attribute (without the body, which is the message itself), trimmed to fit `budget`
 * bytes.
 */
export function failureAttribute(failure: FailureRecord, budget: number): string | undefined {
  const { body: _body, ...rest } = failure;
  let record: Omit<FailureRecord, 'body'> = rest;
  let text = JSON.stringify(record);
  if (byteLength(text) <= budget) return text;
  record = { ...rest, stack: undefined };
  text = JSON.stringify(record);
  if (byteLength(text) <= budget) return text;
  const overflow = byteLength(text) - budget + 16;
  if (overflow >= rest.message.length) return undefined;
  text = JSON.stringify({ ...record, message: `${rest.message.slice(0, rest.message.length - overflow)}…` });
  return byteLength(text) <= budget ? text : undefined;
}

/** The attributes of a dead letter sent to the redrive target: its id and, if it fits, its failure record. */
export function deadLetterAttributes(
  id: string,
  body: string,
  failure: FailureRecord,
  limit: number,
): Record<string, MessageAttributeValue> {
  const attributes = taskIdAttributes(id);
  const budget =
    limit - byteLength(body) - taskIdAttributeBytes(id) - byteLength(FAILURE_ATTRIBUTE) - byteLength('String');
  const record = failureAttribute(failure, budget);
  if (record) attributes[FAILURE_ATTRIBUTE] = { DataType: 'String', StringValue: record };
  return attributes;
}

export function toDeadLetter(message: Message): DeadLetter {
  const body = message.Body ?? '';
  const id = taskIdOf(message);
  const raw = message.MessageAttributes?.[FAILURE_ATTRIBUTE]?.StringValue;
  if (!raw) return { id, body };
  try {
    return { id, body, failure: { ...(JSON.parse(raw) as Omit<FailureRecord, 'body'>), body } };
  } catch {
    return { id, body };
  }
}
