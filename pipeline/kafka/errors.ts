/**
 * kafkajs errors turned into the project's hierarchy (KafkaEdgeError), with
 * what was being done, kafkajs's own message (and its causes'), where (topic,
 * partition, offset) when the caller knows, and whether a retry may help.
 * Helpers to recognise the kafkajs error kinds the edges act on.
 */
import { KafkaEdgeError, MentionflowError, type KafkaPosition } from '../../common/errors.js';

export interface KafkaJsErrorShape {
  name?: string;
  message?: string;
  type?: string;
  code?: string;
  retriable?: boolean;
  cause?: unknown;
  originalError?: unknown;
}

function shape(err: unknown): KafkaJsErrorShape {
  return err !== null && typeof err === 'object' ? (err as KafkaJsErrorShape) : { message: String(err) };
}

/** The error and the causes kafkajs wrapped in it (retry wrappers keep the real reason in `cause`/`originalError`), outermost first. */
/** An error and the errors it wraps (`cause`, kafkajs's `originalError`), outermost first. */
export function errorChain(err: unknown): KafkaJsErrorShape[] {
  const links: KafkaJsErrorShape[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    const s = shape(cur);
    links.push(s);
    cur = s.cause ?? s.originalError;
  }
  return links;
}

/** The innermost message kafkajs kept (retry wrappers hide the real reason in `cause`/`originalError`). */
export function rootMessage(err: unknown): string {
  const parts: string[] = [];
  for (const s of errorChain(err)) if (s.message && !parts.includes(s.message)) parts.push(s.message);
  return parts.join(': ') || String(err);
}

/** Failures a retry cannot fix: credentials, authorization, configuration, and a certificate that is not trusted or does not match. */
function permanent(e: KafkaJsErrorShape): boolean {
  return (
    e.name === 'KafkaJSSASLAuthenticationError' ||
    /SASL|_AUTHORIZATION_FAILED$|^INVALID_CONFIG$/.test(e.type ?? '') ||
    /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET_ISSUER)|^ERR_TLS_|^ERR_SSL_/.test(e.code ?? '') ||
    ['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError'].includes(e.name ?? '')
  );
}

const TRANSIENT_NAMES = ['KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSRequestTimeoutError', 'KafkaJSNoBrokerAvailableError', 'KafkaJSBrokerNotFound'];
const TRANSIENT_CODES = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'];
/** kafkajs wrappers that say only that kafkajs stopped retrying, not whether a later attempt may succeed. */
const WRAPPERS = ['KafkaJSNumberOfRetriesExceeded', 'KafkaJSNonRetriableError'];

/**
 * Whether a later attempt of the same call may succeed, from kafkajs's
 * classification: never after an authentication, authorization,
 * configuration or certificate failure anywhere in the chain; always after
 * a connection failure or a timeout; otherwise kafkajs's `retriable` flag
 * of the innermost error that has one (kafkajs's "retries exceeded" wrapper
 * does not count: what it gave up on may still pass later). The project's
 * own errors keep their flag.
 */
export function isRetriableKafkaError(err: unknown): boolean {
  if (err instanceof MentionflowError) return err.retriable;
  const links = errorChain(err);
  if (links.some(permanent)) return false;
  if (links.some((e) => TRANSIENT_NAMES.includes(e.name ?? '') || TRANSIENT_CODES.includes(e.code ?? ''))) return true;
  const flagged = links.filter((e) => typeof e.retriable === 'boolean' && !WRAPPERS.includes(e.name ?? ''));
  return flagged.at(-1)?.retriable === true;
}

/**
 * Wraps a kafkajs error: "<what>: <kafkajs message>", plus "(topic t,
 * partition p, offset o)" for what `position` gives; `retriable` as
 * isRetriableKafkaError says. A KafkaEdgeError is returned as it is.
 */
export function kafkaEdgeError(what: string, err: unknown, position: KafkaPosition = {}): KafkaEdgeError {
  if (err instanceof KafkaEdgeError) return err;
  return new KafkaEdgeError(`${what}: ${rootMessage(err)}`, { cause: err, retriable: isRetriableKafkaError(err), ...position });
}

/** The group is rebalancing: this member must rejoin (kafkajs's isRebalancing). */
export function isRebalancing(err: unknown): boolean {
  const type = shape(err).type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'NOT_COORDINATOR_FOR_GROUP' || type === 'ILLEGAL_GENERATION';
}

/**
 * This member's place in the group is gone: a rebalance (isRebalancing), or
 * the coordinator no longer knows the member (UNKNOWN_MEMBER_ID: it stalled
 * past its session timeout and was removed; kafkajs rejoins on its next
 * request). A commit refused so loses nothing: the records come again.
 */
export function isMembershipLost(err: unknown): boolean {
  // kafkajs's retrier wraps a broker error it will not retry (UNKNOWN_MEMBER_ID) or has retried
  // enough: the type is on a cause, not on the error a commit throws.
  return errorChain(err).some((s) => isRebalancing(s) || s.type === 'UNKNOWN_MEMBER_ID');
}

/** Another producer with the same transactional id took over (this one is a zombie). */
export function isFenced(err: unknown): boolean {
  return errorChain(err).some((s) => s.type === 'INVALID_PRODUCER_EPOCH' || s.type === 'PRODUCER_FENCED');
}
