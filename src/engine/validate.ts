/**
 * The rules for what a person hands the engine, in one place, so that the app, the CLI and the
 * library (`Editor.edit`, `EditEngine.edit`, `fromPretrained`) accept and refuse the same input
 * with the same message. Each check throws an EditError whose code names the problem.
 */
import { checkEditSetting, EDIT_SETTING_NAMES } from './editSettings';
import type { EditSettingName } from './editSettings';
import { EditError, tooLargeMessage } from './errors';
import type { RgbaImage } from './image';

/**
 * Characters that draw nothing: white space, controls, and Unicode's default-ignorables
 * (zero-width spaces and joiners, direction and variation marks, soft hyphens, fillers).
 */
const INVISIBLE = /[\s\p{Cc}\p{Default_Ignorable_Code_Point}]/gu;

/**
 * What is wrong with an instruction, or null when it can be used: it must be text with at least
 * one character that draws something.
 */
export function instructionProblem(instruction: unknown): string | null {
  if (typeof instruction !== 'string') return `the instruction must be text, got ${kindOf(instruction)}`;
  if (instruction.trim() === '') return 'the instruction is empty';
  if (instruction.replace(INVISIBLE, '') === '')
    return 'the instruction has only invisible characters (zero-width spaces, joiners or marks)';
  return null;
}

/** Throws EditError('empty-instruction') when the instruction cannot be used (see instructionProblem). */
export function checkInstruction(instruction: unknown): asserts instruction is string {
  const problem = instructionProblem(instruction);
  if (problem) throw new EditError('empty-instruction', problem);
}

/** Refuses an empty or non-text package source (an empty string would open the current folder). */
export function checkPackageSource(
  source: unknown,
  what: string,
  forms = 'a folder that holds manifest.json, a file: URL or an http(s) URL',
): asserts source is string {
  if (typeof source !== 'string' || source.trim() === '')
    throw new EditError('bad-settings', `${what} needs a model package: ${forms}; got ${shown(source)}`);
}

/** "a Float32Array", "an Array", "a string", "null": what a value is, for a message. */
function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  const name = typeof v === 'object' ? ((v as object).constructor?.name ?? 'object') : typeof v;
  return `${/^[aeiou]/i.test(name) ? 'an' : 'a'} ${name}`;
}

/** A number as written, anything else as JSON ("2" stays quoted), for a message. */
const shown = (v: unknown): string => (typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v)));

const isBytes = (v: unknown): v is Uint8Array | Uint8ClampedArray =>
  v instanceof Uint8Array || v instanceof Uint8ClampedArray;

/**
 * Checks an ImageData-like RGBA picture: whole-number size of at least 1×1, at most
 * MAX_INPUT_PIXELS, and `data` a Uint8Array or Uint8ClampedArray of width·height·4 bytes.
 * `what` names it in the messages ("the image", "the mask"); `code` is the code they carry.
 */
export function checkRgbaImage(
  img: unknown,
  what = 'the image',
  code: 'bad-image' | 'bad-settings' = 'bad-image',
): asserts img is RgbaImage {
  if (typeof img !== 'object' || img === null)
    throw new EditError(
      code,
      `${what} must be an object with width, height and data (RGBA bytes), got ${kindOf(img)}`,
    );
  const { width, height, data } = img as Partial<RgbaImage>;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width! < 1 || height! < 1)
    throw new EditError(
      code,
      `${what}'s width and height must be whole numbers of at least 1, got ${shown(width)}×${shown(height)}`,
    );
  const tooLarge = tooLargeMessage(width!, height!, what);
  if (tooLarge) throw new EditError(code === 'bad-image' ? 'image-too-large' : code, tooLarge);
  if (!isBytes(data))
    throw new EditError(
      code,
      `${what}'s data must be a Uint8Array or Uint8ClampedArray of RGBA bytes, got ${kindOf(data)}`,
    );
  if (data.length !== width! * height! * 4)
    throw new EditError(
      code,
      `${what}'s data has ${data.length} bytes; ${width}×${height} RGBA needs ${width! * height! * 4}`,
    );
}

/** The message for a mask whose size is not the image's (the CLI's and the library's), or null. */
export function maskSizeProblem(mask: RgbaImage, image: RgbaImage): string | null {
  if (mask.width === image.width && mask.height === image.height) return null;
  return `the mask is ${mask.width}×${mask.height} but the image is ${image.width}×${image.height}; the mask must be the image's size`;
}

/** Checks a mask: a [h·w] grid of the model's token cells, or an RGBA image of the image's size. */
function checkMask(mask: unknown, image: RgbaImage, grid: { h: number; w: number }): void {
  if (mask instanceof Uint8Array) {
    if (mask.length !== grid.h * grid.w)
      throw new EditError(
        'bad-settings',
        `the mask grid has ${mask.length} cells; this model's token grid is ${grid.h}×${grid.w} = ${grid.h * grid.w}`,
      );
    return;
  }
  if (typeof mask !== 'object' || mask === null || isBytes(mask) || ArrayBuffer.isView(mask))
    throw new EditError(
      'bad-settings',
      `the mask must be an RGBA image of the image's size or a Uint8Array of ${grid.h}×${grid.w} cells, got ${kindOf(mask)}`,
    );
  checkRgbaImage(mask, 'the mask', 'bad-settings');
  const wrongSize = maskSizeProblem(mask, image);
  if (wrongSize) throw new EditError('bad-settings', wrongSize);
}

/**
 * Refuses edit options outside their range or of the wrong kind, naming the setting; ranges and
 * messages come from EDIT_SETTINGS. Unset options are left to the model's defaults. The ranges
 * also keep guidance and reference strength finite in float32 (1e308 would become Infinity and
 * the output NaN).
 */
export function validateSettings(s: object): void {
  const values = s as Partial<Record<EditSettingName, unknown>>;
  for (const name of EDIT_SETTING_NAMES) if (values[name] !== undefined) checkEditSetting(name, values[name]);
}

/** Refuses an options argument that is not an object (undefined stands for none). */
export function checkOptionsObject(options: unknown): void {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options)))
    throw new EditError('bad-settings', `the edit options must be an object, got ${kindOf(options)}`);
}

/** The parts of one edit that a person chooses (the engine's request, the one-call editor's arguments). */
export interface EditArguments {
  readonly image: unknown;
  readonly prompt: unknown;
  readonly mask?: unknown;
  readonly queryWords?: unknown;
}

/**
 * Validates one edit's arguments before any graph runs: the instruction, the image, every edit
 * setting against the settings table, the mask (the image's size, or the model's token grid),
 * the query words, and the callbacks. `grid` is the model's token grid.
 */
export function checkEditArguments(
  args: EditArguments,
  grid: { h: number; w: number },
  callbacks: { onStep?: unknown; signal?: unknown } = {},
): void {
  checkInstruction(args.prompt);
  checkRgbaImage(args.image);
  validateSettings(args);
  if (args.mask !== undefined) checkMask(args.mask, args.image, grid);
  if (args.queryWords !== undefined && typeof args.queryWords !== 'string')
    throw new EditError('bad-settings', `the query words must be text, got ${kindOf(args.queryWords)}`);
  if (callbacks.onStep !== undefined && typeof callbacks.onStep !== 'function')
    throw new EditError('bad-settings', `onStep must be a function, got ${kindOf(callbacks.onStep)}`);
  const signal = callbacks.signal as AbortSignal | undefined;
  if (signal !== undefined && (typeof signal !== 'object' || typeof signal?.throwIfAborted !== 'function'))
    throw new EditError('bad-settings', `signal must be an AbortSignal, got ${kindOf(signal)}`);
}
