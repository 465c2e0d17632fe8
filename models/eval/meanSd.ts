/** Mean and sample standard deviation over seeds. */
export interface MeanSd {
  mean: number;
  sd: number;
  n: number;
}

export function meanSd(xs: readonly number[]): MeanSd {
  const n = xs.length;
  const mean = n === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / n;
  const sd = n < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  return { mean, sd, n };
}

export function fmt(m: MeanSd): string {
  return Number.isNaN(m.mean) ? 'n/a' : m.n > 1 ? `${m.mean.toFixed(2)} ± ${m.sd.toFixed(2)}` : m.mean.toFixed(2);
}
