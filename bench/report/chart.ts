/**
 * The benchmark chart as an SVG string (rendered to PNG in Chromium by run.ts): one horizontal
 * bar per run for the step median and the whole edit, on a log scale, the PyTorch reference last.
 */
import type { BenchReport } from './types';

interface Bar {
  label: string;
  step: number | null;
  edit: number | null;
  colour: string;
}

const COLOURS: Record<string, string> = {
  'node-cpu': '#2b6cb0',
  'wasm-1t': '#dd6b20',
  'wasm-threads': '#c05621',
  webgpu: '#2f855a',
  pytorch: '#6b46c1',
};

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

export function chartSvg(report: BenchReport): { svg: string; width: number; height: number } {
  const bars: Bar[] = report.runs
    // a run that fell back to another backend would be drawn under the wrong name
    .filter((r) => r.step_ms_median !== null && r.status === 'ok')
    .map((r) => ({
      label: `${r.backend} ${r.dtype} ${r.model}${r.options ? ` [${r.options.replace(/graph-capture/, 'gc').replace(/free-dims/, 'fd')}]` : ''}, ${r.steps} st`,
      step: r.step_ms_median,
      edit: r.edit_ms,
      colour: COLOURS[r.backend] ?? '#555',
    }));
  const ref = report.reference;
  if (ref)
    bars.push({
      label: `pytorch fp32 ${ref.model}, ${ref.steps ?? '?'} st`,
      step: ref.step_ms_median,
      edit: ref.edit_ms,
      colour: COLOURS['pytorch']!,
    });
  const values = bars.flatMap((b) => [b.step, b.edit]).filter((v): v is number => v !== null && v > 0);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...values, 1))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values, 10))));
  const labelW = 250;
  const panelW = 330;
  const rowH = 18;
  const top = 50;
  const width = labelW + 2 * panelW + 40;
  const height = top + bars.length * rowH + 40;
  const x = (v: number) => (panelW - 20) * (Math.log10(v / lo) / Math.log10(hi / lo));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<text x="10" y="18" font-size="14" font-weight="bold">EditMGT Web benchmark — ${esc(report.machine.cpu)}, ${report.machine.cores} cores${report.quick ? ' (quick)' : ''}</text>`,
  ];
  ['step median (ms, log)', 'whole edit (ms, log)'].forEach((title, p) => {
    const x0 = labelW + p * panelW;
    parts.push(`<text x="${x0}" y="${top - 18}" font-weight="bold">${title}</text>`);
    for (let d = lo; d <= hi; d *= 10) {
      parts.push(
        `<line x1="${x0 + x(d)}" y1="${top - 10}" x2="${x0 + x(d)}" y2="${top + bars.length * rowH}" stroke="#ddd"/>`,
      );
      parts.push(
        `<text x="${x0 + x(d)}" y="${top + bars.length * rowH + 14}" text-anchor="middle" fill="#666">${d >= 1000 ? `${d / 1000}k` : d}</text>`,
      );
    }
  });
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    parts.push(`<text x="${labelW - 6}" y="${y + 12}" text-anchor="end">${esc(b.label)}</text>`);
    [b.step, b.edit].forEach((v, p) => {
      if (v === null || v <= 0) return;
      const x0 = labelW + p * panelW;
      const w = Math.max(1, x(Math.max(v, lo)));
      parts.push(`<rect x="${x0}" y="${y + 2}" width="${w}" height="${rowH - 5}" fill="${b.colour}"/>`);
      parts.push(
        `<text x="${x0 + w + 3}" y="${y + 12}" fill="#333">${v < 10 ? v.toFixed(1) : v.toFixed(0)}</text>`,
      );
    });
  });
  parts.push('</svg>');
  return { svg: parts.join('\n'), width, height };
}
