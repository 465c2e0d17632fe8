/**
 * The one kafkajs error wrapper (pipeline/kafka/errors.ts): the message with
 * its context, and `retriable` from kafkajs's classification, on the error
 * classes kafkajs really throws.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { ConfigError, KafkaEdgeError } from '../../common/errors.js';
import { isMembershipLost, isRebalancing, isRetriableKafkaError, kafkaEdgeError, rootMessage } from '../../pipeline/kafka/errors.js';

// The error classes kafkajs exports (its typings leave some out or type their constructors narrowly).
type ErrorClass = new (...args: any[]) => Error;
const { KafkaJSConnectionError, KafkaJSConnectionClosedError, KafkaJSNumberOfRetriesExceeded, KafkaJSNonRetriableError, KafkaJSProtocolError, KafkaJSSASLAuthenticationError, KafkaJSRequestTimeoutError } =
  kafkajs as unknown as Record<string, ErrorClass>;

/** A broker error as kafkajs builds it from an error code. */
function protocolError(type: string, retriable: boolean): Error {
  return new KafkaJSProtocolError({ message: `broker says ${type}`, type, code: 1, retriable });
}
/** What kafkajs's retrier throws once its retries are used up. */
function exhausted(err: Error): Error {
  return new KafkaJSNumberOfRetriesExceeded(err, { retryCount: 5, retryTime: 1000 });
}

test('kafkaEdgeError: "<what>: <kafkajs message and causes>", the cause kept, an existing KafkaEdgeError unchanged', () => {
  const inner = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:1', { broker: '127.0.0.1:1', code: 'ECONNREFUSED' });
  const err = kafkaEdgeError('cannot connect', exhausted(inner));
  assert.ok(err instanceof KafkaEdgeError);
  assert.equal(err.message, 'cannot connect: Connection error: connect ECONNREFUSED 127.0.0.1:1');
  assert.equal(rootMessage(err.cause), 'Connection error: connect ECONNREFUSED 127.0.0.1:1');
  assert.equal(kafkaEdgeError('again', err), err);
  assert.equal(err.topic, undefined);
});

test('kafkaEdgeError: topic, partition and offset become fields and end the message', () => {
  const err = kafkaEdgeError('cannot write 3 record(s)', new KafkaJSConnectionClosedError('Closed connection', { host: 'h', port: 1 }), { topic: 'posts', partition: 2, offset: '42' });
  assert.equal(err.message, 'cannot write 3 record(s): Closed connection (topic posts, partition 2, offset 42)');
  assert.deepEqual([err.topic, err.partition, err.offset], ['posts', 2, '42']);
  assert.equal(kafkaEdgeError('x', new Error('y'), { topic: 't' }).message, 'x: y (topic t)');
  assert.equal(new KafkaEdgeError('m', { partition: 0 }).message, 'm (partition 0)');
});

test('retriable: connection failures and timeouts are, also after kafkajs gave up retrying', () => {
  const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED', { code: 'ECONNREFUSED' });
  for (const err of [refused, exhausted(refused), new KafkaJSConnectionClosedError('Closed connection'), new KafkaJSRequestTimeoutError('Request Metadata(key: 3, version: 6) timed out'), Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })]) {
    assert.equal(isRetriableKafkaError(err), true, err.message);
    assert.equal(kafkaEdgeError('x', err).retriable, true, err.message);
  }
  assert.equal(isRetriableKafkaError(exhausted(protocolError('LEADER_NOT_AVAILABLE', true))), true);
});

test('retriable: wrong credentials, refused authorization, bad config and untrusted certificates are not', () => {
  const cases: Error[] = [
    new KafkaJSSASLAuthenticationError('SASL SCRAM SHA256 authentication failed: Authentication failed due to invalid credentials'),
    new KafkaJSNonRetriableError(new KafkaJSSASLAuthenticationError('SASL PLAIN authentication failed')),
    protocolError('TOPIC_AUTHORIZATION_FAILED', false),
    protocolError('SASL_AUTHENTICATION_FAILED', false),
    protocolError('INVALID_CONFIG', false),
    // kafkajs marks every socket error retriable; a certificate error is not worth another try.
    exhausted(new KafkaJSConnectionError('Connection error: self-signed certificate in certificate chain', { code: 'SELF_SIGNED_CERT_IN_CHAIN' })),
    new KafkaJSConnectionError('Connection error: unable to verify the first certificate', { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }),
    new KafkaJSConnectionError("Hostname/IP does not match certificate's altnames", { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }),
    new TypeError('Cannot read properties of undefined'),
    new Error('something else'),
  ];
  for (const err of cases) {
    assert.equal(isRetriableKafkaError(err), false, err.message);
    assert.equal(kafkaEdgeError('x', err).retriable, false, err.message);
  }
});

test("retriable: the project's own errors keep their flag", () => {
  assert.equal(isRetriableKafkaError(new ConfigError('bad')), false);
  assert.equal(isRetriableKafkaError(new KafkaEdgeError('lost', { retriable: true })), true);
});

test('membership lost: a rebalance, or a member the coordinator removed after a stall (UNKNOWN_MEMBER_ID, which a stalled archive sink meets at its next commit); not other broker errors', () => {
  for (const type of ['REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR_FOR_GROUP', 'ILLEGAL_GENERATION']) {
    assert.equal(isRebalancing(protocolError(type, true)), true, type);
    assert.equal(isMembershipLost(protocolError(type, true)), true, type);
  }
  assert.equal(isRebalancing(protocolError('UNKNOWN_MEMBER_ID', false)), false);
  assert.equal(isMembershipLost(protocolError('UNKNOWN_MEMBER_ID', false)), true);
  // As consumer.commitOffsets throws them: kafkajs's retrier wraps the broker's error.
  const refused = protocolError('UNKNOWN_MEMBER_ID', false);
  assert.equal(isMembershipLost(new KafkaJSNonRetriableError(refused, { cause: refused })), true);
  assert.equal(isMembershipLost(exhausted(protocolError('REBALANCE_IN_PROGRESS', true))), true);
  const other = protocolError('OFFSET_METADATA_TOO_LARGE', false);
  assert.equal(isMembershipLost(new KafkaJSNonRetriableError(other, { cause: other })), false);
  for (const type of ['OFFSET_METADATA_TOO_LARGE', 'GROUP_AUTHORIZATION_FAILED', 'UNKNOWN_TOPIC_OR_PARTITION']) assert.equal(isMembershipLost(protocolError(type, false)), false, type);
  assert.equal(isMembershipLost(new Error('disk full')), false);
});
