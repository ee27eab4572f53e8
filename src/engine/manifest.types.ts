// Generated from manifest.schema.json by scripts/manifestTypes.ts: do not edit by hand.
// Edit the schema, then run `npm run gen:manifest-types`.

export type Dtype = 'fp32' | 'fp16' | 'q4' | 'q4f16' | 'q8';

export type Tensor = {
  readonly name: string;
  readonly dtype: 'float32' | 'float16' | 'int32' | 'int64' | 'bool';
  readonly shape: readonly (number | string)[];
};

export type Tokenizer = {
  readonly files: readonly string[];
  readonly max_length: number;
  readonly pad_id: number;
  readonly padding_side?: 'left' | 'right';
  readonly truncation?: boolean;
};

/** manifest.json of a model package (docs/model-package.md). Validated by tools/export (Python, jsonschema) and src/engine (TypeScript). */
export interface Manifest {
  readonly format_version: 1;
  readonly name: string;
  readonly source: {
    /** hub id or folder the package was converted from */
    readonly id: string;
    /** hub commit, or content:<hash> for a local folder */
    readonly revision: string;
  };
  readonly dtypes: {
    readonly [K in Dtype]?: {
      readonly providers: readonly ('webgpu' | 'wasm' | 'cpu')[];
      /** the largest single GPU buffer (weight or activation) any graph of this dtype needs; config.max_buffer_bytes is the largest over the dtypes */
      readonly max_buffer_bytes?: number;
      readonly graphs: {
        readonly [K in 'text_clip' | 'text_llm' | 'vq_encode' | 'vq_decode' | 'transformer_step']: {
          readonly file: string;
          /** this graph's own compute dtype when it differs from the entry's (the VQ graphs stay fp32 in q4; a q4f16 package may keep its LLM encoder fp32) */
          readonly dtype?: Dtype;
          /** the graph's weight files (ONNX external data), each under 2 GiB, in the graph file's folder; the graph names them by file name (text_llm.onnx.data, text_llm.onnx.data_1, ...) */
          readonly external_data?: readonly string[];
          /** text_llm only: the token embedding table, out of the graph (which takes inputs_embeds); the host reads the rows of a prompt's ids by byte range, row i at i·row_bytes */
          readonly token_table?: {
            readonly file: string;
            /** a row: dim float32, dim float16, or one float32 scale then dim int8 (value = int8 · scale in float32) */
            readonly format: 'float32' | 'float16' | 'int8';
            readonly rows: number;
            readonly dim: number;
            readonly row_bytes: number;
          };
        };
      };
    };
  };
  /** input/output names, dtypes and shapes of each graph (identical in every dtype) */
  readonly graphs: {
    readonly [K in 'text_clip' | 'text_llm' | 'vq_encode' | 'vq_decode' | 'transformer_step']: {
      readonly inputs: readonly Tensor[];
      readonly outputs: readonly Tensor[];
    };
  };
  readonly files: readonly {
    readonly path: string;
    readonly bytes: number;
    readonly sha256: string;
  }[];
  readonly config: {
    /** the resolution the graphs were exported at (pixels, square) */
    readonly resolution: number;
    readonly resolutions: {
      readonly [key: string]: {
        readonly token_grid: readonly [number, number];
        readonly transformer_grid: readonly [number, number];
      };
    };
    readonly codebook_size: number;
    readonly vocab_size: number;
    readonly mask_token_id: number;
    readonly masking_schedule: 'cosine' | 'linear';
    readonly vae_scale_factor: number;
    readonly text: {
      readonly clip_length: number;
      readonly llm_length: number;
      readonly clip_dim: number;
      readonly llm_dim: number;
    };
    /** blocks captured for the attention map, double-stream blocks counted first */
    readonly attention_blocks: readonly number[];
    readonly transformer?: {
      readonly num_layers?: number;
      readonly num_single_layers?: number;
      readonly num_attention_heads?: number;
      readonly attention_head_dim?: number;
      readonly connector_type?: 'none' | 'linear' | 'mlp';
      readonly downsample?: boolean;
      readonly upsample?: boolean;
      readonly [key: string]: unknown;
    };
    readonly micro_conds: readonly number[];
    readonly readback_bytes_per_step: number;
    /** the largest single GPU buffer any graph needs at this resolution */
    readonly max_buffer_bytes?: number;
  };
  readonly defaults: {
    readonly steps: number;
    readonly guidance_scale: number;
    readonly reference_strength: number;
    readonly temperature: readonly [number, number];
    readonly region_hold_lambda: number;
    readonly region_hold_enabled?: boolean;
  };
  readonly negative_prompt: string;
  readonly tokenizers: {
    readonly clip: Tokenizer;
    readonly llm: Tokenizer;
  };
  /** mean RGB in [0,1] of each code (codebook_size entries) */
  readonly codebook_colors: readonly (readonly [number, number, number])[];
  /** Instructions that suit this model, offered by the editor */
  readonly suggestions?: readonly string[];
  readonly generator?: { readonly [key: string]: unknown };
  /** The images the model was trained on, told to the person: what they are, whether images unlike them fail, what to expect then, and a few example images from it (package files) */
  readonly domain?: {
    /** what images the model was trained on */
    readonly description: string;
    /** true when images unlike the training ones give poor results: the editor then says so for images other than the examples */
    readonly narrow?: boolean;
    /** what to expect from an image outside the domain */
    readonly outside?: string;
    readonly examples?: readonly {
      /** an image file of the package, listed in files */
      readonly path: string;
      /** an edit that suits this example */
      readonly instruction?: string;
    }[];
  };
}
