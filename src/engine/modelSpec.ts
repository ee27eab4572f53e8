/** What the edit loop needs to know about a model package (derived from its manifest). */
import type { MaskSchedule } from './scheduler';

export interface ModelSpec {
  /** model resolution in pixels */
  readonly width: number;
  readonly height: number;
  /** token grid h×w (VQ latent) */
  readonly tokenGrid: { readonly h: number; readonly w: number };
  /** grid of the consolidated attention map gh×gw (the transformer grid) */
  readonly attentionGrid: { readonly h: number; readonly w: number };
  readonly maskTokenId: number;
  readonly codebookSize: number;
  readonly clip: { readonly maxLength: number; readonly dim: number };
  readonly llm: { readonly maxLength: number; readonly dim: number };
  readonly negativePrompt: string;
  readonly schedule: MaskSchedule;
  /** temperature (start, end), the reference's default (2, 0) */
  readonly temperature: readonly [number, number];
  /** micro-condition aesthetic score, 6 in the reference */
  readonly aestheticScore: number;
  /** [codebookSize·3] RGB per codebook entry, for step previews */
  readonly codebookColors?: Uint8Array;
}
