/**
 * Pub/Sub messages ↔ our types. The task id travels in a `taskId` attribute (a message without one,
 * e.g. python-task-queue's, is known by its Pub/Sub message id). A dead letter carries our failure
 * record (without the body, which is the message itself) as JSON in attributes `failure-0`,
 * `failure-1`, ...: Pub/Sub caps an attribute value at 1,024 bytes, so the record is cut into
 * pieces on character boundaries and joined again when read.
 */
import { hostname } from 'node:os';
import type { google } from '@google-cloud/pubsub/build/protos/protos';
import { SECOND } from './pubsubClient';
import type { DeadLetter, FailureRecord, LeasedTask } from './types';

type ReceivedMessage = google.pubsub.v1.IReceivedMessage;

export const TASK_ID_ATTRIBUTE = 'taskId';
const FAILURE_PREFIX = 'failure-';
/** Pub/Sub's limit on one attribute value. */
export const MAX_ATTRIBUTE_BYTES = 1024;
/** Pieces of a failure record at most (64 KiB); a longer record loses its stack, then the end of its message. */
const MAX_FAILURE_PIECES = 64;
/** Pub/Sub's limit on one message (data + attributes), and on one modifyAckDeadline. */
export const MAX_MESSAGE_BYTES = 10 * 1000 * 1000;
export const MAX_ACK_DEADLINE_SECONDS = 600;

export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Task id of a received message: our attribute, else the Pub/Sub message id. */
export function taskIdOf(received: ReceivedMessage): string {
  const id = received.message?.attributes?.[TASK_ID_ATTRIBUTE];
  return id ? id : (received.message?.messageId ?? '');
}

/** The message's data as bytes (the client gives a Buffer; the REST form is base64 text). */
export function dataOf(received: ReceivedMessage): Uint8Array {
  const data = received.message?.data;
  if (!data) return new Uint8Array(0);
  return typeof data === 'string' ? Buffer.from(data, 'base64') : data;
}

/** The body as text; the lease refuses data that is not UTF-8 first (pubsubQueue.ts). */
export function bodyOf(received: ReceivedMessage): string {
  return Buffer.from(dataOf(received)).toString('utf8');
}

/** The record of a message dead-lettered at lease because its data is not UTF-8 text. */
export function notTextFailure(id: string, attempt: number, where: string): FailureRecord {
  return {
    taskId: id,
    body: '',
    reason: 'MalformedTask',
    message: `the Pub/Sub message's data is not UTF-8 text (${where}), so not a task message: dead-lettered unchanged`,
    attempts: attempt,
    worker: `${hostname()}:${process.pid}`,
    failedAt: new Date().toISOString(),
  };
}

export function toLeasedTask(
  received: ReceivedMessage,
  pulledAt: number,
  leaseSeconds: number,
  attempt: number,
): LeasedTask {
  return {
    id: taskIdOf(received),
    body: bodyOf(received),
    attempt,
    handle: received.ackId ?? '',
    leaseExpiresAt: pulledAt + leaseSeconds * SECOND,
  };
}

/** Cuts `text` into pieces of at most `maxBytes` UTF-8 bytes, never inside a character. */
export function splitUtf8(text: string, maxBytes: number): string[] {
  const pieces: string[] = [];
  let piece = '';
  let bytes = 0;
  for (const char of text) {
    const size = byteLength(char);
    if (bytes + size > maxBytes) {
      pieces.push(piece);
      piece = '';
      bytes = 0;
    }
    piece += char;
    bytes += size;
  }
  if (piece !== '' || pieces.length === 0) pieces.push(piece);
  return pieces;
}

function recordText(failure: FailureRecord): string {
  const { body: _body, ...rest } = failure;
  const limit = MAX_FAILURE_PIECES * (MAX_ATTRIBUTE_BYTES - 4); // a 4-byte character may end a piece early
  let text = JSON.stringify(rest);
  if (byteLength(text) <= limit) return text;
  text = JSON.stringify({ ...rest, stack: undefined });
  if (byteLength(text) <= limit) return text;
  const keep = Math.max(0, rest.message.length - (byteLength(text) - limit) - 16);
  return JSON.stringify({ ...rest, stack: undefined, message: `${rest.message.slice(0, keep)}…` });
}

/** The attributes of a dead letter: its id and its failure record in pieces. */
export function deadLetterAttributes(id: string, failure: FailureRecord): Record<string, string> {
  const attributes: Record<string, string> = { [TASK_ID_ATTRIBUTE]: id };
  splitUtf8(recordText(failure), MAX_ATTRIBUTE_BYTES).forEach((piece, i) => {
    attributes[`${FAILURE_PREFIX}${i}`] = piece;
  });
  return attributes;
}

export function toDeadLetter(received: ReceivedMessage): DeadLetter {
  const body = bodyOf(received);
  const id = taskIdOf(received);
  const attributes = received.message?.attributes ?? {};
  const pieces: string[] = [];
  for (let i = 0; attributes[`${FAILURE_PREFIX}${i}`] !== undefined; i++)
    pieces.push(attributes[`${FAILURE_PREFIX}${i}`]!);
  if (pieces.length === 0) return { id, body };
  try {
    return { id, body, failure: { ...(JSON.parse(pieces.join('')) as Omit<FailureRecord, 'body'>), body } };
  } catch {
    return { id, body };
  }
}
