/** The shapes the app's store holds. Images are immutable; so are history entries. */
import type { EditSettings } from '../../protocol/messages';

/** An image the editor knows: its encoded bytes and its size after EXIF orientation. */
export interface ImageRef {
  id: string;
  name: string;
  width: number;
  height: number;
  /** The original file for opened images; a PNG for results. */
  blob: Blob;
}

export interface HistoryEntry {
  id: string;
  createdAt: number;
  /** open: an image was added; edit: an edit finished; chain: a result became the input. */
  kind: 'open' | 'edit' | 'chain';
  label: string;
  input: ImageRef;
  result: ImageRef | null;
  instruction: string | null;
  settings: EditSettings | null;
  /** data: URL of a small JPEG. */
  thumb: string;
}

/** One streamed step, unpacked into typed arrays (see StepPayload in the protocol). */
export interface StepFrame {
  step: number;
  steps: number;
  grid: [number, number];
  maskTokenId: number;
  tokens: Int32Array;
  drawn: Int32Array;
  remasked: Int32Array;
  attention: Float32Array;
  hold: Uint8Array;
  /** RGBA8; `previewSize` says its pixel size. */
  preview: Uint8ClampedArray;
  previewSize: [number, number];
  elapsedMs: number;
}

export interface RunState {
  status: 'running' | 'done' | 'cancelled' | 'failed';
  instruction: string;
  settings: EditSettings;
  inputId: string;
  /** The history entry holding this run's result, once done. */
  entryId: string | null;
  frames: StepFrame[];
  startedAt: number;
  ms: number | null;
  warnings: string[];
}

export interface WordSelection {
  index: number;
  /** Position of the step in the run's frames (the worker's order). */
  step: number;
  /** null while the worker computes it. */
  map: Float32Array | null;
}

export type StageView = 'edit' | 'compare' | 'side';
export type EditState = 'idle' | 'loading-model' | 'ready' | 'running' | 'done' | 'error';
