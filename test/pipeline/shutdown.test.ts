import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { handleShutdownSignals } from '../../pipeline/stream/shutdown.js';

function fakeProcess(): EventEmitter & Pick<NodeJS.Process, 'on' | 'off'> {
  return new EventEmitter() as EventEmitter & Pick<NodeJS.Process, 'on' | 'off'>;
}

function recorder() {
  const exits: string[] = [];
  const reasons: string[] = [];
  return { exits, reasons, forceExit: (s: NodeJS.Signals) => exits.push(s), onForcedExit: (r: string) => reasons.push(r) };
}

test('first signal starts the graceful stop; a second one ends the process at once', () => {
  const target = fakeProcess();
  const stops: string[] = [];
  const r = recorder();
  const h = handleShutdownSignals({ target, timeoutMs: 10_000, stop: (s) => stops.push(s), ...r });
  target.emit('SIGTERM', 'SIGTERM');
  assert.deepEqual(stops, ['SIGTERM']);
  assert.equal(h.signal, 'SIGTERM');
  assert.deepEqual(r.exits, []);
  target.emit('SIGINT', 'SIGINT');
  assert.deepEqual(r.exits, ['SIGINT']);
  assert.match(r.reasons[0], /second signal \(SIGINT\): exiting without waiting/);
  h.dispose();
  assert.equal(target.listenerCount('SIGTERM'), 0);
  assert.equal(target.listenerCount('SIGINT'), 0);
});

test('the stop must finish within the timeout, or the process ends by the signal', async () => {
  const target = fakeProcess();
  const r = recorder();
  const h = handleShutdownSignals({ target, timeoutMs: 20, stop: () => undefined, ...r });
  target.emit('SIGTERM', 'SIGTERM');
  await new Promise((res) => setTimeout(res, 80));
  assert.deepEqual(r.exits, ['SIGTERM']);
  assert.match(r.reasons[0], /longer than 20 ms/);
  h.dispose();
});

test('dispose cancels the deadline', async () => {
  const target = fakeProcess();
  const r = recorder();
  const h = handleShutdownSignals({ target, timeoutMs: 20, stop: () => undefined, ...r });
  target.emit('SIGINT', 'SIGINT');
  h.dispose();
  await new Promise((res) => setTimeout(res, 80));
  assert.deepEqual(r.exits, []);
});
