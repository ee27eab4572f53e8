/** The benchmark report as Markdown tables (printed by run.ts, pasted into docs/benchmarks.md). */
import type { BenchReport, BenchRun } from './types';

const f = (v: number | null | undefined, digits = 0) =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);
const mb = (v: number | null) => (v === null ? '–' : (v / 2 ** 20).toFixed(0));

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

export function runRow(r: BenchRun): string {
  return row([
    r.options ? `${r.backend} (${r.options})` : r.backend,
    r.dtype,
    r.model,
    String(r.threads),
    String(r.steps),
    f(r.load_cold_ms),
    f(r.load_cached_ms),
    f(r.text_encode_ms, 1),
    f(r.vq_encode_ms, 1),
    f(r.step_ms_median, 1),
    f(r.step_ms_p90, 1),
    f(r.decode_ms, 1),
    f(r.edit_ms),
    f(r.first_step_ms),
    f(r.readback_bytes_per_step),
    mb(r.peak_rss_bytes),
    f(r.overhead_pct, 1),
    f(r.gflops_per_step, 3),
    f(r.gflops_per_s, 2),
    f(r.pct_of_peak, 1),
    r.status === 'ok' ? 'ok' : r.status.slice(0, 80),
  ]);
}

export function formatTable(report: BenchReport): string {
  const m = report.machine;
  const lines = [
    `machine: ${m.cpu}, ${m.cores} cores, ${(m.memory_bytes / 2 ** 30).toFixed(0)} GiB, load ${m.load_average_at_start.join(' ')}; ` +
      `matmul peak ${f(m.matmul_peak_gflops_per_s, 1)} GFLOP/s on ${m.matmul_peak_threads} threads; ${m.chromium ?? 'no Chromium'}; WebGPU adapter ${m.webgpu_adapter ?? '–'}`,
    '',
    row([
      'backend',
      'dtype',
      'model',
      'thr',
      'steps',
      'load cold ms',
      'load cached ms',
      'text ms',
      'VQ enc ms',
      'step med ms',
      'step p90 ms',
      'decode ms',
      'edit ms',
      '1st step ms',
      'readback B/step',
      'peak MiB',
      'overhead %',
      'GFLOP/step',
      'GFLOP/s',
      '% peak',
      'status',
    ]),
    row(Array(21).fill('---')),
    ...report.runs.map(runRow),
  ];
  const ref = report.reference;
  if (ref) {
    lines.push(
      '',
      row([
        'reference',
        'model',
        'threads',
        'steps',
        'text ms',
        'VQ enc ms',
        'step med ms',
        'step p90 ms',
        'decode ms',
        'edit ms',
        '1st step ms',
        'peak MiB',
      ]),
      row(Array(12).fill('---')),
    );
    lines.push(
      row([
        'PyTorch',
        ref.model,
        String(ref.threads),
        String(ref.steps ?? '–'),
        f(ref.text_encode_ms, 1),
        f(ref.vq_encode_ms, 1),
        f(ref.step_ms_median, 1),
        f(ref.step_ms_p90, 1),
        f(ref.decode_ms, 1),
        f(ref.edit_ms),
        f(ref.first_step_ms),
        mb(ref.peak_rss_bytes),
      ]),
    );
    if (ref.ort_python)
      lines.push(
        row([
          'Python onnxruntime fp32',
          ref.model,
          String(ref.threads),
          String(ref.steps ?? '–'),
          '',
          '',
          f(ref.ort_python.step_ms_median, 1),
          '',
          '',
          f(ref.ort_python.edit_ms),
          '',
          '',
        ]),
      );
  }
  const eo = report.engine_overhead;
  if (eo) {
    lines.push(
      '',
      `engine time per step without graphs: ${eo.model ? `${f(eo.model.engine_ms_per_step, 2)} ms at ${eo.model.tokens} tokens; ` : ''}` +
        `${f(eo.at_1024.engine_ms_per_step, 1)} ms (p90 ${f(eo.at_1024.engine_ms_per_step_p90, 1)}) at 1024 px` +
        (eo.pct_of_fullsize_step !== null
          ? ` = ${f(eo.pct_of_fullsize_step, eo.pct_of_fullsize_step < 0.01 ? 4 : 2)} % of a full-size step on onnxruntime-node (target < 3 %)`
          : ''),
    );
  }
  const rf = report.reference_fullsize;
  const pf = report.ratio_pairs?.node_vs_pytorch_fullsize_step;
  if (rf && pf) {
    lines.push(
      '',
      `full-size step, one run each: onnxruntime-node ${f(pf.node_step_ms)} ms, PyTorch ${f(pf.pytorch_step_ms)} ms (node / PyTorch ${f(pf.node_step_ms / pf.pytorch_step_ms, 2)}); ` +
        `PyTorch load ${f(rf.load_ms)} ms, peak ${mb(rf.peak_rss_bytes)} MiB`,
    );
  }
  const cp = report.composite_psnr ?? [];
  if (cp.length) {
    lines.push(
      '',
      row([
        'composite PSNR',
        'dtype',
        'image',
        'size',
        'steps',
        'step med ms',
        'readback B/step',
        'PSNR outside, composite off',
        'PSNR outside, composite on',
      ]),
      row(Array(9).fill('---')),
    );
    for (const c of cp) {
      lines.push(
        row([
          c.model,
          c.dtype,
          c.image,
          `${c.width}×${c.height}`,
          String(c.steps),
          f(c.step_ms_median, 1),
          f(c.readback_bytes_per_step),
          f(c.psnr_outside_composite_off, 2),
          f(c.psnr_outside_composite_on, 2),
        ]),
      );
    }
  }
  const se = report.shapes_eval;
  if (se) {
    const o = se.overall;
    lines.push(
      '',
      `shapes evaluation (${se.model} ${se.dtype}, ${o.n} test pairs, guidance ${se.settings.guidance}, reference strength ${se.settings.reference_strength}, ${se.settings.steps} steps): ` +
        `edit PSNR ${f(o.edit_psnr, 2)} dB inside (source ${f(o.source_edit_psnr, 2)}), outside ${f(o.psnr_outside_app, 2)} dB (region-hold λ ${se.settings.hold} + composite ${f(o.psnr_outside_hold_composite, 2)}), attention IoU ${f(o.localisation_iou, 2)}`,
    );
  }
  const r = report.ratios;
  const p = report.ratio_pairs ?? {
    node_vs_pytorch: [],
    wasm_threads_vs_node: null,
    webgpu_vs_wasm: null,
    node_vs_pytorch_fullsize_step: null,
  };
  const rounds = p.node_vs_pytorch.map((x) => `${f(x.node_edit_ms)}/${f(x.pytorch_edit_ms)}`).join(', ');
  lines.push(
    '',
    `ratios (time / time, each from runs next to each other): node / PyTorch edit ${f(r.node_vs_pytorch, 3)} (target ≤ 0.5; median of rounds, ms: ${rounds || '–'}); ` +
      `WASM-threads / node step ${f(r.wasm_threads_vs_node, 2)} (target ≤ 1.5${p.wasm_threads_vs_node ? `; ${f(p.wasm_threads_vs_node.wasm_threads_step_ms, 1)}/${f(p.wasm_threads_vs_node.node_step_ms, 1)} ms` : ''}); ` +
      `WebGPU / WASM-threads step ${f(r.webgpu_vs_wasm, 2)}${p.webgpu_vs_wasm ? ` (${f(p.webgpu_vs_wasm.webgpu_step_ms, 0)}/${f(p.webgpu_vs_wasm.wasm_threads_step_ms, 1)} ms)` : ''}`,
  );
  return lines.join('\n');
}
