/**
 * The synthetic mention records the trends benchmarks aggregate: two
 * mentions per record from about 2,000 entities (PER and GPE), event times
 * spread over two hours in record order with up to 3 s of disorder.
 */
import type { PostMentions } from '../schemas/types.generated.js';

/** Record `i` of a stream of `total` records. */
export function trendBenchRecord(i: number, total: number): PostMentions {
  const base = Date.UTC(2024, 4, 1, 8);
  const mention = (k: number) => {
    const text = `实体${k % 2000}`;
    return { text, label: k % 3 === 0 ? 'PER.NAM' : 'GPE.NAM', type: k % 3 === 0 ? ('PER' as const) : ('GPE' as const), kind: 'NAM' as const, start: 0, end: 4, start_utf16: 0, end_utf16: 4, confidence: 0.5 };
  };
  return {
    post_id: `m${i}`,
    created_at: base + Math.floor((i / total) * 7_200_000) - ((i * 7919) % 3000),
    origin: null,
    mentions: [mention((i * 31) % 1999), mention((i * 17 + 5) % 2003)],
    model: { id: 'bench', version: '1' },
    processed_at: base,
    latency_ms: null,
  };
}
