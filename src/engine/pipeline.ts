/**
 * The EditMGT edit loop: encode text (cached per prompt) → VQ-encode the source (once per
 * image) → N transformer steps with the engine's scheduler → VQ-decode → original size.
 * Emits one event per step; takes an AbortSignal and stops within one step.
 *
 * Shapes: token grids are [h·w] row-major (h×w = manifest token grid), attention [gh·gw].
 */
import { processAttention } from './attention';
import { EDIT_SETTING_NAMES, fallbackEditOptions } from './editSettings';
import type { EditOptionValues } from './editSettings';
import { EditError } from './errors';
import {
  chwToRgba,
  compositeUnchanged,
  imageToModelPixels,
  maskToGrid,
  paletteImage,
  resizeImage,
} from './image';
import type { RgbaImage } from './image';
import type { ModelSpec } from './modelSpec';
import type { GraphName, GraphRunner, Rng, StepUniforms } from './ports';
import { predictTokens, regionHoldMask } from './regionHold';
import { seededRng } from './rng';
import { schedulerStep, startingMaskRatio, temperatureSchedule, unknownMap } from './scheduler';
import type { MaskSchedule } from './scheduler';
import { expectDims, expectType, makeTensor } from './tensor';
import type { LlmMaskMode, TextEncoding, TextTokenizers } from './textEncoder';
import { TextEncoderCache } from './textEncoder';
import { queryTextWeights } from './textWeights';
import { checkEditArguments } from './validate';

/**
 * One edit. The edit options (steps, guidance, referenceStrength, hold, seed, negativePrompt,
 * composite) are the settings table's (editSettings.ts: ranges, fallbacks, help); unset ones take
 * the fallbacks, except negativePrompt (the model's) and composite (on).
 */
export interface EditRequest extends Readonly<Partial<EditOptionValues>> {
  readonly image: RgbaImage;
  readonly prompt: string;
  /** inpainting: cells to regenerate, as a [h·w] 0/1 grid or an image (white = regenerate) */
  readonly mask?: Uint8Array | RgbaImage;
  /** restrict the attention map to these words of the instruction */
  readonly queryWords?: string;
  /** keep original pixels where tokens are unchanged (default true) */
  readonly composite?: boolean;
  /** Inputs that replay a recorded run exactly (golden tests, parity checks); not user settings. */
  readonly replay?: EditReplay;
}

/**
 * What a golden replay fixes that an ordinary edit derives: the reference's random draws, its
 * preprocessed pixels, its text weights, its mask schedule and its composite feathering. Each
 * field overrides what the engine would compute from the request and the model.
 */
export interface EditReplay {
  /** the random draws, step by step (overrides `seed`) */
  readonly rng?: Rng;
  /** the source already at model resolution, CHW float32 [3·H·W] in [0, 1]; the request's
   *  `image` is then only used for the output size and the composite */
  readonly modelPixels?: Float32Array;
  /** explicit text weights [L_llm] (overrides `queryWords`) */
  readonly textWeights?: Float32Array;
  /** the mask schedule (overrides the model's) */
  readonly schedule?: MaskSchedule;
  /** how many token cells the composite's blend ramps over (default 1) */
  readonly featherCells?: number;
}

/** The second argument of EditEngine.edit: progress and cancellation. */
export interface EditCallbacks {
  /** called after every step with that step's tokens, attention and preview */
  readonly onStep?: (e: StepEvent) => void;
  /** aborts the edit within one graph run; the promise rejects with the signal's reason */
  readonly signal?: AbortSignal;
}

export interface StepEvent {
  readonly step: number;
  readonly steps: number;
  /** [h·w] tokens after this step, mask id where unknown */
  readonly tokens: Int32Array;
  /** [h·w] tokens the step predicted (drawn, known kept, region-hold applied) */
  readonly predicted: Int32Array;
  /** cell indices that went from unknown to known this step */
  readonly drawn: Int32Array;
  /** cell indices re-masked this step */
  readonly remasked: Int32Array;
  /** how many the schedule asked to re-mask (0 on the last step) */
  readonly maskLength: number;
  /** [h·w] smoothed attention on the token grid */
  readonly attention: Float32Array;
  /** [gh·gw] smoothed attention on the attention grid */
  readonly attentionGrid: Float32Array;
  /** [h·w] 1 where region-hold kept the source token */
  readonly hold: Uint8Array;
  /** the token grid painted with codebook colours (when the manifest has them) */
  readonly preview?: RgbaImage;
  readonly elapsedMs: number;
  /** bytes the transformer step returned */
  readonly readbackBytes: number;
}

export interface EditResult {
  /** decoded at model resolution */
  readonly modelImage: RgbaImage;
  /** at the input's original size (composited when enabled) */
  readonly image: RgbaImage;
  readonly tokens: Int32Array;
  readonly sourceTokens: Int32Array;
  readonly warnings: string[];
  readonly elapsedMs: number;
}

export interface EngineOptions {
  readonly runner: GraphRunner;
  readonly tokenizers: TextTokenizers;
  readonly spec: ModelSpec;
  readonly llmMask?: LlmMaskMode;
  /** milliseconds clock (performance.now in the app; Date.now by default) */
  readonly now?: () => number;
  /**
   * Which sessions stay open between graphs (encodings stay cached per prompt, so a repeated
   * prompt opens nothing). 'all' (the default): every graph. 'release-text': the text encoders'
   * sessions are freed once a new prompt is encoded; the full-size Gemma2 encoder is the largest
   * graph, and it is idle for the whole sampling loop. 'phased': also the image graphs are freed
   * before a new prompt is encoded, so the two phases never hold memory together.
   */
  readonly memory?: MemoryPolicy;
}

/** The memory policies, least memory last (see EngineOptions.memory). */
export const MEMORY_POLICIES = ['all', 'release-text', 'phased'] as const;
/** See EngineOptions.memory. */
export type MemoryPolicy = (typeof MEMORY_POLICIES)[number];

const IMAGE_GRAPHS: readonly GraphName[] = ['vq_encode', 'transformer_step', 'vq_decode'];
const TEXT_GRAPHS: readonly GraphName[] = ['text_llm', 'text_clip'];

/** What the text phase hands the steps. */
interface EncodedText {
  readonly cond: TextEncoding;
  readonly uncond: TextEncoding;
  /** [L_llm] weight of each text position in the attention map */
  readonly weights: Float32Array;
  readonly warnings: string[];
}

/** What every step of one edit shares. */
interface StepContext {
  readonly settings: Settings;
  readonly fixed: ReturnType<EditEngine['fixedFeeds']>;
  readonly refTokens: Int32Array;
  readonly startRatio: number;
  readonly schedule: MaskSchedule;
  readonly temperature: number;
  readonly uniforms: StepUniforms;
  readonly started: number;
  readonly signal?: AbortSignal;
}

export class EditEngine {
  private readonly text: TextEncoderCache;
  private readonly sources = new WeakMap<RgbaImage, Int32Array>();
  private readonly now: () => number;

  constructor(private readonly opts: EngineOptions) {
    this.text = new TextEncoderCache(opts.runner, opts.tokenizers, opts.spec, opts.llmMask ?? 'ones');
    this.now = opts.now ?? (() => Date.now());
  }

  /**
   * Runs one edit, in its four phases: encode the text, encode the image, the steps, decode.
   * Rejects with the signal's reason when aborted (checked before every graph run).
   * @example
   * const result = await engine.edit({ image, prompt: 'make the sky purple', steps: 16, seed: 1 }, { onStep: (e) => console.log(e.step) });
   */
  async edit(req: EditRequest, { onStep, signal }: EditCallbacks = {}): Promise<EditResult> {
    const started = this.now();
    const settings = validate(req, this.opts.spec.tokenGrid, { onStep, signal });
    signal?.throwIfAborted();
    const text = await this.encodeText(req, settings, signal);
    const source = await this.encodeImage(req, signal);
    const tokens = await this.sample(req, settings, text, source, started, onStep, signal);
    signal?.throwIfAborted();
    const { modelImage, image } = await this.decodeResult(req, tokens, source, signal);
    return {
      modelImage,
      image,
      tokens,
      sourceTokens: source,
      warnings: text.warnings,
      elapsedMs: this.now() - started,
    };
  }

  /**
   * The memory policy, in one place: which sessions go before a phase starts. 'text' is called
   * only when some prompt must be encoded (a cached one opens nothing).
   */
  private async releaseBefore(phase: 'text' | 'image'): Promise<void> {
    const { runner } = this.opts;
    const memory = this.opts.memory ?? 'all';
    if (!runner.releaseGraph || memory === 'all') return;
    if (phase === 'text' && memory === 'phased') for (const g of IMAGE_GRAPHS) await runner.releaseGraph(g);
    if (phase === 'image') for (const g of TEXT_GRAPHS) await runner.releaseGraph(g);
  }

  /**
   * Phase 1: the instruction's (and, with CFG, the negative prompt's) encodings, from the cache
   * or the text graphs; the text weights of the attention map; warnings about the text.
   */
  private async encodeText(req: EditRequest, settings: Settings, signal?: AbortSignal): Promise<EncodedText> {
    const { spec } = this.opts;
    const warnings: string[] = [];
    const encodes =
      !this.text.has(req.prompt) || (usesCfg(settings.guidance) && !this.text.has(this.negativePrompt(req)));
    if (encodes) await this.releaseBefore('text');
    const cond = await this.text.encode(req.prompt, signal);
    const uncond = await this.unconditional(req, settings, cond, signal);
    if (cond.truncated)
      warnings.push(
        `the instruction is longer than the model reads; it was cut to ${spec.llm.maxLength} LLM / ${spec.clip.maxLength} CLIP tokens`,
      );
    let weights: Float32Array = new Float32Array(spec.llm.maxLength).fill(1);
    const replayed = req.replay?.textWeights;
    if (replayed) {
      if (replayed.length !== spec.llm.maxLength)
        throw new EditError('bad-settings', `text weights need ${spec.llm.maxLength} values`);
      weights = replayed;
    } else if (req.queryWords?.trim()) {
      const q = queryTextWeights(this.opts.tokenizers.llm, cond.llmIds, req.queryWords, spec.llm.maxLength);
      if (q) weights = q;
      else warnings.push(`"${req.queryWords}" is not in the instruction; the attention map uses all words`);
    }
    return { cond, uncond, weights, warnings };
  }

  /** Phase 2: the source image's tokens (VQ-encoded once per image object). */
  private async encodeImage(req: EditRequest, signal?: AbortSignal): Promise<Int32Array> {
    await this.releaseBefore('image');
    return this.sourceTokens(req.image, signal, req.replay?.modelPixels);
  }

  /** Phase 3: the sampling steps, one transformer run each, from the start grids to the last tokens. */
  private async sample(
    req: EditRequest,
    settings: Settings,
    text: EncodedText,
    source: Int32Array,
    started: number,
    onStep: EditCallbacks['onStep'],
    signal?: AbortSignal,
  ): Promise<Int32Array> {
    const replay = req.replay ?? {};
    const start = this.startGrids(req, source);
    let tokens = start.tokens;
    const rng = replay.rng ?? seededRng(settings.seed);
    const taus = temperatureSchedule(
      settings.steps,
      this.opts.spec.temperature[0],
      this.opts.spec.temperature[1],
    );
    const fixed = this.fixedFeeds(text.cond, text.uncond, start.refTokens, settings, text.weights);
    for (let i = 0; i < settings.steps; i++) {
      signal?.throwIfAborted();
      const event = await this.step(tokens, i, {
        settings,
        fixed,
        refTokens: start.refTokens,
        startRatio: start.startRatio,
        schedule: replay.schedule ?? this.opts.spec.schedule,
        temperature: taus[i]!,
        uniforms: rng.step(i, this.opts.spec.tokenGrid.h * this.opts.spec.tokenGrid.w),
        started,
        signal,
      });
      onStep?.(event);
      tokens = event.tokens;
    }
    return tokens;
  }

  /** One sampling step: the transformer run, attention, region-hold, the scheduler's re-masking. */
  private async step(tokens: Int32Array, i: number, c: StepContext): Promise<StepEvent> {
    const { spec, runner } = this.opts;
    const { h, w } = spec.tokenGrid;
    const seq = h * w;
    const { settings } = c;
    const out = await runner.run(
      'transformer_step',
      {
        ...c.fixed,
        tokens: makeTensor('int32', tokens, [1, h, w]),
        timestep: makeTensor('float32', Float32Array.of(settings.steps - 1 - i), [1]),
        uniforms: makeTensor('float32', c.uniforms.draw, [1, seq]),
      },
      c.signal,
    );
    const drawnIds = expectType(out['drawn_ids'], 'int32', 'transformer_step.drawn_ids');
    const drawnProbs = expectType(out['drawn_probs'], 'float32', 'transformer_step.drawn_probs');
    const refProbs = expectType(out['ref_probs'], 'float32', 'transformer_step.ref_probs');
    const attention = expectType(out['attention'], 'float32', 'transformer_step.attention');
    for (const t of [drawnIds, drawnProbs, refProbs]) expectDims(t, [1, seq], 'transformer_step output');
    expectDims(attention, [1, spec.attentionGrid.h * spec.attentionGrid.w], 'transformer_step.attention');
    const readbackBytes =
      drawnIds.data.byteLength +
      drawnProbs.data.byteLength +
      refProbs.data.byteLength +
      attention.data.byteLength;

    const maps = processAttention(attention.data, spec.attentionGrid.h, spec.attentionGrid.w, h, w);
    const unknown = unknownMap(tokens, spec.maskTokenId);
    const hold = regionHoldMask(unknown, maps.tokens, settings.hold);
    const pred = predictTokens({
      tokens,
      unknown,
      drawnIds: drawnIds.data,
      drawnProbs: drawnProbs.data,
      refTokens: c.refTokens,
      refProbs: refProbs.data,
      hold,
    });
    const next = schedulerStep({
      tokens,
      predicted: pred.tokens,
      predictedProbs: pred.probs,
      gumbelUniforms: c.uniforms.gumbel,
      step: i,
      steps: settings.steps,
      schedule: c.schedule,
      temperature: c.temperature,
      startingMaskRatio: c.startRatio,
      maskTokenId: spec.maskTokenId,
    });
    return {
      step: i,
      steps: settings.steps,
      tokens: next.tokens,
      predicted: pred.tokens,
      drawn: indicesWhere(seq, (k) => unknown[k] === 1 && next.tokens[k] !== spec.maskTokenId),
      remasked: indicesWhere(seq, (k) => next.remasked[k] === 1),
      maskLength: next.maskLength,
      attention: maps.tokens,
      attentionGrid: maps.grid,
      hold,
      preview: spec.codebookColors
        ? paletteImage(next.tokens, h, w, spec.codebookColors, spec.maskTokenId)
        : undefined,
      elapsedMs: this.now() - c.started,
      readbackBytes,
    };
  }

  /**
   * Phase 4: the last tokens decoded, resized to the input's size, and (by default) the
   * original's pixels kept where the tokens equal the source's.
   */
  private async decodeResult(
    req: EditRequest,
    tokens: Int32Array,
    source: Int32Array,
    signal?: AbortSignal,
  ): Promise<{ modelImage: RgbaImage; image: RgbaImage }> {
    const { h, w } = this.opts.spec.tokenGrid;
    const modelImage = await this.decode(tokens, signal);
    const resized = resizeImage(modelImage, req.image.width, req.image.height);
    if (!(req.composite ?? true)) return { modelImage, image: resized };
    const changed = new Uint8Array(h * w);
    for (let i = 0; i < changed.length; i++) changed[i] = tokens[i] !== source[i] ? 1 : 0;
    const { image } = compositeUnchanged({
      original: req.image,
      edited: resized,
      changed,
      gridH: h,
      gridW: w,
      featherCells: req.replay?.featherCells,
    });
    return { modelImage, image };
  }

  /** Source tokens, VQ-encoded once per image object. @returns Int32Array [h·w] */
  async sourceTokens(
    image: RgbaImage,
    signal?: AbortSignal,
    modelPixels?: Float32Array,
  ): Promise<Int32Array> {
    const hit = modelPixels ? undefined : this.sources.get(image);
    if (hit) return hit;
    const { spec } = this.opts;
    const pixels = modelPixels ?? imageToModelPixels(image, spec.width, spec.height);
    if (pixels.length !== 3 * spec.width * spec.height)
      throw new EditError('bad-image', `model pixels need 3×${spec.height}×${spec.width} values`);
    const out = await this.opts.runner.run(
      'vq_encode',
      { pixels: makeTensor('float32', pixels, [1, 3, spec.height, spec.width]) },
      signal,
    );
    const ids = expectType(out['ids'], 'int32', 'vq_encode.ids');
    expectDims(ids, [1, spec.tokenGrid.h, spec.tokenGrid.w], 'vq_encode.ids');
    if (!modelPixels) this.sources.set(image, ids.data);
    return ids.data;
  }

  /** Decodes a token grid (mask ids → 0, as the reference). */
  async decode(tokens: Int32Array, signal?: AbortSignal): Promise<RgbaImage> {
    const { spec } = this.opts;
    const ids = Int32Array.from(tokens, (t) => (t === spec.maskTokenId ? 0 : t));
    const out = await this.opts.runner.run(
      'vq_decode',
      { ids: makeTensor('int32', ids, [1, spec.tokenGrid.h, spec.tokenGrid.w]) },
      signal,
    );
    const px = expectType(out['pixels'], 'float32', 'vq_decode.pixels');
    expectDims(px, [1, 3, spec.height, spec.width], 'vq_decode.pixels');
    return chwToRgba(px.data, spec.width, spec.height);
  }

  /**
   * The grids an edit starts from: all masked, or (inpainting) the source with the masked cells
   * set to the mask id. The reference masks its reference tokens in place when it builds the
   * inpainting start (the start aliases them), so the transformer and region-hold see the masked
   * grid too. @returns tokens and refTokens [h·w], and the starting mask ratio
   */
  private startGrids(
    req: EditRequest,
    source: Int32Array,
  ): { tokens: Int32Array; refTokens: Int32Array; startRatio: number } {
    const { spec } = this.opts;
    const { h, w } = spec.tokenGrid;
    const seq = h * w;
    if (!req.mask)
      return { tokens: new Int32Array(seq).fill(spec.maskTokenId), refTokens: source, startRatio: 1 };
    // its size was checked with the request (validate.ts)
    const grid = req.mask instanceof Uint8Array ? req.mask : maskToGrid(req.mask, h, w);
    let count = 0;
    const tokens = Int32Array.from(source);
    for (let i = 0; i < seq; i++) {
      if (!grid[i]) continue;
      tokens[i] = spec.maskTokenId;
      count++;
    }
    if (count === 0) throw new EditError('bad-settings', 'the mask selects nothing to edit');
    return { tokens, refTokens: tokens, startRatio: startingMaskRatio(count, seq) };
  }

  /** The tokens an edit's first step starts from. @returns Int32Array [h·w] */
  async startTokens(req: EditRequest, signal?: AbortSignal): Promise<Int32Array> {
    return this.startGrids(req, await this.sourceTokens(req.image, signal)).tokens;
  }

  /**
   * Where chosen words of the instruction attend at one step of an edit made with `req`: that
   * step's transformer run again with text weights on those words only (text encodings and
   * source tokens come from the caches, so this is one graph run).
   * @param stepInput Int32Array [h·w], the tokens the step started from
   * @returns the smoothed map on the token grid [h·w] and the attention grid [gh·gw], or null
   *   when none of the words is in the instruction
   */
  async wordAttention(
    req: EditRequest,
    stepInput: Int32Array,
    step: number,
    words: string,
    signal?: AbortSignal,
  ): Promise<{ tokens: Float32Array; grid: Float32Array } | null> {
    const { spec, runner } = this.opts;
    const { h, w } = spec.tokenGrid;
    const settings = validate(req, spec.tokenGrid, { signal });
    if (!Number.isInteger(step) || step < 0 || step >= settings.steps)
      throw new EditError('bad-settings', `step must be in [0, ${settings.steps}), got ${step}`);
    const cond = await this.text.encode(req.prompt, signal);
    const uncond = await this.unconditional(req, settings, cond, signal);
    const weights = queryTextWeights(this.opts.tokenizers.llm, cond.llmIds, words, spec.llm.maxLength);
    if (!weights) return null;
    const source = await this.sourceTokens(req.image, signal);
    const { refTokens } = this.startGrids(req, source);
    const out = await runner.run(
      'transformer_step',
      {
        ...this.fixedFeeds(cond, uncond, refTokens, settings, weights),
        tokens: makeTensor('int32', stepInput, [1, h, w]),
        timestep: makeTensor('float32', Float32Array.of(settings.steps - 1 - step), [1]),
        uniforms: makeTensor('float32', new Float32Array(h * w), [1, h * w]),
      },
      signal,
    );
    const attention = expectType(out['attention'], 'float32', 'transformer_step.attention');
    expectDims(attention, [1, spec.attentionGrid.h * spec.attentionGrid.w], 'transformer_step.attention');
    return processAttention(attention.data, spec.attentionGrid.h, spec.attentionGrid.w, h, w);
  }

  /**
   * The step graph's first text row. With CFG (guidance > 1) the negative prompt's encoding;
   * without it, as the reference at guidance ≤ 1, the negative prompt is not encoded and the
   * instruction fills both rows: u = c makes the graph's u + g·(c − u) the conditional logits
   * exactly, and the attention is the conditional branch's either way.
   */
  private async unconditional(
    req: EditRequest,
    s: Settings,
    cond: TextEncoding,
    signal?: AbortSignal,
  ): Promise<TextEncoding> {
    if (!usesCfg(s.guidance)) return cond;
    return this.text.encode(this.negativePrompt(req), signal);
  }

  private negativePrompt(req: EditRequest): string {
    return req.negativePrompt ?? this.opts.spec.negativePrompt;
  }

  /** Cached prompts (for tests and memory checks). */
  get cachedPrompts(): number {
    return this.text.size;
  }

  private fixedFeeds(
    cond: TextEncoding,
    uncond: TextEncoding,
    source: Int32Array,
    s: Settings,
    textWeights: Float32Array,
  ) {
    const { spec } = this.opts;
    const { h, w } = spec.tokenGrid;
    const L = spec.llm.maxLength;
    const states = new Float32Array(2 * L * spec.llm.dim);
    states.set(uncond.states, 0);
    states.set(cond.states, L * spec.llm.dim);
    const pooled = new Float32Array(2 * spec.clip.dim);
    pooled.set(uncond.pooled, 0);
    pooled.set(cond.pooled, spec.clip.dim);
    return {
      ref_tokens: makeTensor('int32', source, [1, h, w]),
      text_states: makeTensor('float32', states, [2, L, spec.llm.dim]),
      pooled: makeTensor('float32', pooled, [2, spec.clip.dim]),
      micro_conds: makeTensor(
        'float32',
        Float32Array.of(spec.width, spec.height, 0, 0, spec.aestheticScore),
        [1, 5],
      ),
      guidance_scale: makeTensor('float32', Float32Array.of(s.guidance), [1]),
      ref_bias: makeTensor('float32', Float32Array.of(Math.log(s.referenceStrength)), [1]),
      text_weights: makeTensor('float32', textWeights, [L]),
    };
  }
}

/** Classifier-free guidance runs only above 1, as in the reference. */
export function usesCfg(guidance: number): boolean {
  return guidance > 1;
}

/** The options an edit runs with: the request's, the table's fallbacks for the rest. */
type Settings = EditOptionValues;

/** Checks the request once, before any graph runs (validate.ts: the rules every host shares). */
function validate(req: EditRequest, grid: { h: number; w: number }, callbacks: EditCallbacks): Settings {
  checkEditArguments(req, grid, callbacks);
  const settings: Record<string, unknown> = { ...fallbackEditOptions() };
  for (const name of EDIT_SETTING_NAMES) if (req[name] !== undefined) settings[name] = req[name];
  return settings as unknown as EditOptionValues;
}

function indicesWhere(n: number, pred: (i: number) => boolean): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (pred(i)) out.push(i);
  return Int32Array.from(out);
}
