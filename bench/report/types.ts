/** The benchmark's JSON (docs/benchmarks.md describes every field). */
import type { Summary } from '../node/evalShapes';

export type BackendName = 'node-cpu' | 'wasm-1t' | 'wasm-threads' | 'webgpu';

export interface BenchRun {
  backend: BackendName;
  dtype: string;
  model: string;
  /** CPU threads the runtime was given (WebGPU: the WASM threads of the worker). */
  threads: number;
  steps: number;
  /** 'ok', or why this cell has no numbers ('not built', an error line). */
  status: string;
  load_cold_ms: number | null;
  load_cached_ms: number | null;
  text_encode_ms: number | null;
  vq_encode_ms: number | null;
  step_ms_median: number | null;
  step_ms_p90: number | null;
  decode_ms: number | null;
  edit_ms: number | null;
  first_step_ms: number | null;
  readback_bytes_per_step: number | null;
  /** The same outputs at the 1024 px geometry (64×64 tokens, 32×32 attention). */
  readback_bytes_per_step_1024: number | null;
  peak_rss_bytes: number | null;
  overhead_pct: number | null;
  gflops_per_step: number | null;
  gflops_per_s: number | null;
  /** gflops_per_s as a percentage of the machine's measured matmul peak. */
  pct_of_peak: number | null;
  /** WebGPU step-graph options when set for this run ("graph-capture=1 free-dims=0"). */
  options?: string;
  /** Hash of the final token grid: runs that differ only in options edit alike. */
  tokens_hash?: string;
  /** The edit settings a node run used (the package's defaults; the page's come from the worker, the same way). */
  settings?: { guidance: number; reference_strength: number; hold: number };
  note?: string;
}

export interface Reference {
  model: string;
  runner: 'pytorch';
  threads: number;
  steps?: number;
  edit_ms: number;
  step_ms_median: number;
  step_ms_p90: number;
  text_encode_ms: number;
  vq_encode_ms: number;
  decode_ms: number;
  first_step_ms: number;
  peak_rss_bytes: number;
  /** The edit settings it ran with (the package's defaults, as the node edit uses them). */
  settings?: Record<string, unknown>;
  /** The same pipeline on Python onnxruntime (fp32 graphs): native ORT without our engine. */
  ort_python?: { edit_ms: number; step_ms_median: number };
}

export interface Machine {
  cpu: string;
  cores: number;
  memory_bytes: number;
  load_average_at_start: number[];
  os: string;
  node: string;
  onnxruntime_node: string;
  onnxruntime_web: string;
  chromium: string | null;
  webgpu_adapter: string | null;
  matmul_peak_gflops_per_s: number | null;
  matmul_peak_threads: number | null;
}

/** The engine's own time per step with graphs answering instantly (bench/node/engineOverhead.ts). */
export interface EngineOverhead {
  /** Engine ms per step at the first model's geometry (tiny-random: 16×16 tokens). */
  model: { tokens: number; engine_ms_per_step: number; engine_ms_per_step_p90: number } | null;
  /** Engine ms per step at 1024 px (64×64 tokens, 32×32 attention). */
  at_1024: { engine_ms_per_step: number; engine_ms_per_step_p90: number };
  /** at_1024 as % of the full-size step graph's time on onnxruntime-node, when that ran. */
  pct_of_fullsize_step: number | null;
}

/** The measurements each ratio is computed from, taken next to each other in time. */
export interface RatioPairs {
  /** One alternating round each: node-cpu fp32 edit, then the PyTorch edit. */
  node_vs_pytorch: {
    node_edit_ms: number;
    pytorch_edit_ms: number;
    node_step_ms: number | null;
    pytorch_step_ms: number;
  }[];
  /** node-cpu fp32 run just before the WASM-threads fp32 run. */
  wasm_threads_vs_node: { node_step_ms: number; wasm_threads_step_ms: number } | null;
  /** WASM-threads fp32 and the WebGPU fp32 run just after it. */
  webgpu_vs_wasm: { wasm_threads_step_ms: number; webgpu_step_ms: number } | null;
  /** The full-size step on onnxruntime-node, then the same step in PyTorch (one run each). */
  node_vs_pytorch_fullsize_step: { node_step_ms: number; pytorch_step_ms: number } | null;
}

/** One photo edited with the original-pixel composite on and off (bench/node/compositePsnr.ts). */
export interface CompositePsnr {
  model: string;
  dtype: string;
  image: string;
  width: number;
  height: number;
  steps: number;
  step_ms_median: number | null;
  readback_bytes_per_step: number;
  /** PSNR (dB, capped at 60) against the source outside the edited region and its seam band */
  psnr_outside_composite_off: number;
  psnr_outside_composite_on: number;
}

/** The shapes model on its first test pairs (bench/node/evalShapes.ts), package defaults. */
export interface ShapesEval {
  model: string;
  dtype: string;
  settings: { steps: number; guidance: number; reference_strength: number; hold: number; app_hold: number };
  seconds: number;
  overall: Summary;
}

export interface BenchReport {
  machine: Machine;
  quick: boolean;
  started: string;
  runs: BenchRun[];
  reference: Reference | null;
  /** One full-size step in PyTorch (bench/python/torch_step.py), same inputs as the node row. */
  reference_fullsize: { model: string; step_ms: number; load_ms: number; peak_rss_bytes: number } | null;
  engine_overhead: EngineOverhead | null;
  composite_psnr: CompositePsnr[];
  shapes_eval: ShapesEval | null;
  ratio_pairs: RatioPairs;
  ratios: {
    /** node edit_ms / PyTorch edit_ms, same model, fp32, same steps, median over alternating rounds: at most 0.5 meets the target. */
    node_vs_pytorch: number | null;
    /** WASM-threads step median / node step median (same model, fp32): at most 1.5 meets the target. */
    wasm_threads_vs_node: number | null;
    /** WebGPU step median / WASM-threads step median (fp32): below 1 means WebGPU is faster. */
    webgpu_vs_wasm: number | null;
  };
}

export function emptyRun(
  backend: BackendName,
  model: string,
  dtype: string,
  threads: number,
  steps: number,
  status: string,
): BenchRun {
  return {
    backend,
    dtype,
    model,
    threads,
    steps,
    status,
    load_cold_ms: null,
    load_cached_ms: null,
    text_encode_ms: null,
    vq_encode_ms: null,
    step_ms_median: null,
    step_ms_p90: null,
    decode_ms: null,
    edit_ms: null,
    first_step_ms: null,
    readback_bytes_per_step: null,
    readback_bytes_per_step_1024: null,
    peak_rss_bytes: null,
    overhead_pct: null,
    gflops_per_step: null,
    gflops_per_s: null,
    pct_of_peak: null,
  };
}
