/**
 * kafkajs errors turned into the project's hierarchy (KafkaEdgeError), with
 * what was being done, kafkajs's own message (and its cause's), and whether a
 * retry may help. Helpers to recognise the kafkajs error kinds the edges act on.
 */
import { KafkaEdgeError } from '../../common/errors.js';

interface KafkaJsErrorShape {
  name?: string;
  message?: string;
  type?: string;
  retriable?: boolean;
  cause?: unknown;
  originalError?: unknown;
}

function shape(err: unknown): KafkaJsErrorShape {
  return err !== null && typeof err === 'object' ? (err as KafkaJsErrorShape) : { message: String(err) };
}

/** The innermost message kafkajs kept (retry wrappers hide the real reason in `cause`/`originalError`). */
export function rootMessage(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    const s = shape(cur);
    if (s.message && !parts.includes(s.message)) parts.push(s.message);
    cur = s.cause ?? s.originalError;
  }
  return parts.join(': ') || String(err);
}

/** Wraps a kafkajs error: "<what>: <kafkajs message>". */
export function kafkaEdgeError(what: string, err: unknown): KafkaEdgeError {
  if (err instanceof KafkaEdgeError) return err;
  return new KafkaEdgeError(`${what}: ${rootMessage(err)}`, { cause: err, retriable: shape(err).retriable === true });
}

/** The group is rebalancing: this member must rejoin (kafkajs's isRebalancing). */
export function isRebalancing(err: unknown): boolean {
  const type = shape(err).type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'NOT_COORDINATOR_FOR_GROUP' || type === 'ILLEGAL_GENERATION';
}

/** Another producer with the same transactional id took over (this one is a zombie). */
export function isFenced(err: unknown): boolean {
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    const type = shape(cur).type;
    if (type === 'INVALID_PRODUCER_EPOCH' || type === 'PRODUCER_FENCED') return true;
    cur = shape(cur).cause ?? shape(cur).originalError;
  }
  return false;
}
