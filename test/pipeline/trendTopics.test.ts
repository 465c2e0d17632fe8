// The trends aggregator's topics: the trends output and its compacted state changelog.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { topicProblems, trendTopicSpecs } from '../../pipeline/kafka/topicSpecs.js';

describe('trend topic specs', () => {
  const specs = trendTopicSpecs({ trendsTopic: 'trends', changelogTopic: 'trends.changelog', topicPartitions: 3, topicReplicationFactor: -1, topicRetentionMs: 1000 });

  it('the trends topic by time, the changelog compacted and never deleted by time', () => {
    assert.deepEqual(
      specs.map((s) => [s.role, s.name, s.partitions, s.config['retention.ms'], s.config['cleanup.policy']]),
      [
        ['trends', 'trends', 3, '1000', 'delete'],
        ['changelog', 'trends.changelog', 1, '-1', 'compact'],
      ],
    );
  });

  it('a changelog made with cleanup.policy=delete is reported', () => {
    const changelog = specs[1]!;
    const problems = topicProblems(changelog, { name: changelog.name, partitions: 1, replicationFactor: 1, config: { 'cleanup.policy': 'delete', 'retention.ms': '-1' } });
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /changelog topic trends\.changelog has cleanup\.policy=delete, the configuration says compact/);
  });
});
