/** What the scaled-out trends' broker tests share (trendsScaled, trendsScaledQuiet). */
import { deleteTopics } from '../../pipeline/kafka/topicAdmin.js';
import type { EntityTrend } from '../../schemas/types.generated.js';
import assert from 'node:assert/strict';
import { deleteTestTopics, type Cli, type TestTopics } from './kafka.js';

/** A trend record without the fields that differ between one aggregator and the scaled-out stages. */
export function comparableTrend(t: EntityTrend): unknown {
  const { watermark: _w, emitted_at: _e, late_records: _l, ...rest } = t;
  return JSON.parse(JSON.stringify(rest));
}

/** The arguments every stage of one test run shares (add `--stage ...`). */
export function stageArgs(brokers: readonly string[], t: TestTopics, windowMs: number, latenessMs: number): string[] {
  return [
    'trends', '--brokers', brokers.join(','), '--from-topic', t.input, '--to-topic', t.output, '--late-topic', t.deadLetter, '--group', t.group,
    '--window', String(windowMs), '--lateness', String(latenessMs), '--top', '5', '--history', '3', '--min-count', '2', '--idle-timeout', '3000', '--commit-interval', '500',
  ];
}

/** Deletes the test topics and the topics the stages created from the output topic's name. */
export async function deleteScaledTopics(brokers: string[], topics: TestTopics): Promise<void> {
  await deleteTestTopics(brokers, topics);
  const o = topics.output;
  await deleteTopics({ brokers, topics: [`${o}.changelog`, `${o}.repartition`, `${o}.repartition.changelog`, `${o}.partials`, `${o}.repartition.deadletter`] }).catch(() => undefined);
}

/** Fails the test, with its stderr, when a stage process has exited. */
export function assertStagesRunning(procs: readonly Cli[]): void {
  for (const p of procs) if (p.proc.exitCode !== null) assert.fail(`a stage exited early (${p.proc.exitCode}): ${p.stderr.slice(-2000)}`);
}
