/**
 * Training curves as a self-contained SVG line chart (no plotting
 * dependency): one line per dev metric over epochs.
 */
import { writeFile } from 'node:fs/promises';
import type { EpochReport } from './trainer.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

export interface Series {
  name: string;
  points: [number, number][];
}

/** Renders series (x = epoch, y = value) into an SVG document. */
export function lineChartSvg(title: string, series: Series[], yLabel = 'dev F1'): string {
  const w = 640;
  const h = 400;
  const m = { l: 50, r: 150, t: 30, b: 40 };
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xMax = Math.max(1, ...xs);
  const yMin = Math.min(0, ...ys);
  const yMax = Math.max(1, ...ys);
  const px = (x: number) => m.l + ((x - 1) / Math.max(1, xMax - 1)) * (w - m.l - m.r);
  const py = (y: number) => h - m.b - ((y - yMin) / (yMax - yMin)) * (h - m.t - m.b);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    `<text x="${w / 2 - m.r / 2}" y="18" text-anchor="middle" font-size="14">${escape(title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const y = yMin + ((yMax - yMin) * i) / 5;
    out.push(`<line x1="${m.l}" x2="${w - m.r}" y1="${py(y)}" y2="${py(y)}" stroke="#ddd"/>`);
    out.push(`<text x="${m.l - 6}" y="${py(y) + 4}" text-anchor="end">${y.toFixed(1)}</text>`);
  }
  for (let x = 1; x <= xMax; x += Math.max(1, Math.ceil(xMax / 10))) {
    out.push(`<text x="${px(x)}" y="${h - m.b + 16}" text-anchor="middle">${x}</text>`);
  }
  out.push(`<text x="${(m.l + w - m.r) / 2}" y="${h - 6}" text-anchor="middle">epoch</text>`);
  out.push(`<text transform="translate(14 ${(h - m.b + m.t) / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const d = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    out.push(`<rect x="${w - m.r + 10}" y="${m.t + i * 18}" width="12" height="3" fill="${color}"/>`);
    out.push(`<text x="${w - m.r + 28}" y="${m.t + i * 18 + 5}">${escape(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Writes the dev-metric curves of a training history. */
export async function writeTrainingCurve(file: string, history: EpochReport[], metrics: string[]): Promise<void> {
  const series = metrics.map((name) => ({ name, points: history.filter((r) => name in r.dev).map((r) => [r.epoch, r.dev[name]] as [number, number]) }));
  await writeFile(file, lineChartSvg('dev F1 per epoch', series));
}
