/**
 * The Helm chart's values.schema.json, generated from `mentionflow run`'s
 * option table (WORKER_OPTIONS): `config` accepts exactly run's options under
 * their config-file keys, typed and ranged as run checks them, so helm lint,
 * template and install refuse a misspelt or mistyped key before anything
 * reaches a cluster. test/deploy/chart.test.ts fails when the committed file
 * is stale; regenerate it with
 *
 *   npm run build && node dist/test/deploy/chartSchema.js --write
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../../cli/defaults.js';
import { WORKER_OPTIONS, type WorkerOption } from '../../pipeline/stream/config.js';

export const SCHEMA_PATH = join(projectRoot(), 'deploy/helm/mentionflow/values.schema.json');

/** Options the chart sets itself (from metrics.port; the probes and the Service depend on them). */
export const CHART_OWNED = ['metricsPort', 'metricsHost'];

function optionSchema(o: WorkerOption): Record<string, unknown> {
  const description = o.description;
  switch (o.kind.type) {
    case 'string':
      return { type: 'string', ...(o.kind.optional ? {} : { minLength: 1 }), description };
    case 'int':
      return { type: 'integer', minimum: o.kind.min, ...(o.kind.max < Number.MAX_SAFE_INTEGER ? { maximum: o.kind.max } : {}), description };
    case 'bool':
      return { type: 'boolean', description };
    case 'list':
      return { type: ['array', 'string'], items: { type: 'string' }, description };
    case 'enum':
      return { type: 'string', enum: [...o.kind.values], description };
  }
}

/** The schema, as text (2-space JSON and a final newline). */
export function chartValuesSchema(): string {
  const properties: Record<string, unknown> = {};
  for (const o of WORKER_OPTIONS) if (!CHART_OWNED.includes(o.key)) properties[o.key] = optionSchema(o);
  const schema = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'mentionflow chart values',
    description: 'Generated from WORKER_OPTIONS (pipeline/stream/config.ts) by test/deploy/chartSchema.ts; do not edit.',
    type: 'object',
    properties: {
      config: {
        type: 'object',
        description: '`mentionflow run` options under their config-file keys (metricsPort/metricsHost come from metrics.port).',
        additionalProperties: false,
        required: ['brokers'],
        properties,
      },
    },
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

if (process.env.NODE_TEST_CONTEXT === undefined && process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--write')) {
  writeFileSync(SCHEMA_PATH, chartValuesSchema());
  console.log(`wrote ${SCHEMA_PATH}`);
}
