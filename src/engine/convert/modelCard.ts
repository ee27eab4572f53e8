/**
 * The model card (`README.md`) and Gemma `NOTICE` a converter writes into the package it makes:
 * what the package was made from, its dtypes and their download sizes, the licence notices of the
 * models it derives from, and a link that opens it in the editor. The same text, byte for byte,
 * as the exporter's `editmgt_export/model_card.py` (which states where each licence fact comes
 * from) for the same manifest and options; text only, from the manifest (no clock, no network).
 *
 * Neither file is listed in the manifest's `files`: the editor downloads only listed files, so
 * the card is outside the package's identity and changes no byte the editor reads.
 */

export const GEMMA_NOTICE =
  'Gemma is provided under and subject to the Gemma Terms of Use found at ai.google.dev/gemma/terms';
const GEMMA_TERMS = 'https://ai.google.dev/gemma/terms';
const GEMMA_POLICY = 'https://ai.google.dev/gemma/prohibited_use_policy';
const EDITMGT_REPO = 'https://github.com/weichow23/EditMGT';
const EDITMGT_CHECKPOINT = 'https://huggingface.co/WeiChow/EditMGT';
const CLIP_CARD = 'https://huggingface.co/laion/CLIP-ViT-H-14-laion2B-s32B-b79K';
const OPENCLIP_REPO = 'https://github.com/mlfoundations/open_clip';

export interface ModelCardOptions {
  /** the hub repo the package is published in, `owner/name` */
  readonly repo?: string;
  readonly revision?: string;
  /** a deployed copy of the editor, for the open link */
  readonly editorUrl?: string;
  /**
   * converted from the published EditMGT checkpoint (its Gemma and CLIP text encoders included),
   * so the three licence notices apply (default); false for weights trained from scratch or random
   */
  readonly fromEditmgt?: boolean;
}

interface CardManifest {
  name: string;
  source?: { id?: string | null; revision?: string | null };
  generator?: { tool?: string; versions?: Record<string, unknown> };
  files: { path: string; bytes: number }[];
  dtypes: Record<
    string,
    {
      providers?: string[];
      graphs: Record<string, { file: string; external_data?: string[]; token_table?: { file: string } }>;
    }
  >;
  tokenizers?: Record<string, { files?: string[] }>;
}

/** The folder URL a hub model repo serves its files from (what the editor opens). */
export function resolveUrl(repo: string, revision = 'main'): string {
  return `https://huggingface.co/${repo}/resolve/${revision}/`;
}

/** Python's `urllib.parse.quote(text, safe='')`: all but letters, digits and `_.-~` escaped. */
function quoteAll(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The editor's page with the package named in its `?model=` link. */
export function openLink(editorUrl: string, packageUrl: string): string {
  return `${editorUrl.replace(/\/+$/, '')}/?model=${quoteAll(packageUrl)}`;
}

/**
 * Python's `f"{n / 1e6:,.1f} MB"`. Both round the exact binary value; they differ only on an
 * exact tie (the value's quarter is odd): Python rounds it to even, `toFixed` up.
 */
export function megabytes(n: number): string {
  const x = n / 1e6;
  let text = x.toFixed(1);
  const quarters = x * 4;
  if (Number.isInteger(quarters) && quarters % 2 !== 0) {
    const tenths = Math.floor(x * 10); // the tie lies between tenths and tenths + 1
    text = ((tenths % 2 === 0 ? tenths : tenths + 1) / 10).toFixed(1);
  }
  const [whole, fraction] = text.split('.') as [string, string];
  return `${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${fraction} MB`;
}

/** Bytes a download of each dtype takes: its graphs, their chunks and token tables, the tokenizers. */
function dtypeBytes(manifest: CardManifest): Map<string, number> {
  const size = new Map(manifest.files.map((f) => [f.path, f.bytes]));
  const tokenizers = Object.values(manifest.tokenizers ?? {}).flatMap((t) => t.files ?? []);
  const out = new Map<string, number>();
  for (const [dtype, entry] of Object.entries(manifest.dtypes)) {
    const paths = new Set(tokenizers);
    for (const graph of Object.values(entry.graphs)) {
      paths.add(graph.file);
      for (const p of graph.external_data ?? []) paths.add(p);
      if (graph.token_table) paths.add(graph.token_table.file);
    }
    out.set(
      dtype,
      [...paths].reduce((a, p) => a + (size.get(p) ?? 0), 0),
    );
  }
  return out;
}

/** Python's `str()` of a JSON value inside the card (strings as they are). */
function text(v: unknown): string {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  return String(v);
}

/** The card's Markdown for the package `manifest` describes (the parsed manifest.json). */
export function modelCard(manifestJson: unknown, options: ModelCardOptions = {}): string {
  const manifest = manifestJson as CardManifest;
  const { repo, editorUrl } = options;
  const fromEditmgt = options.fromEditmgt ?? true;
  const name = manifest.name;
  const source = manifest.source ?? {};
  const generator = manifest.generator ?? {};
  const packageUrl = repo
    ? resolveUrl(repo, options.revision ?? 'main')
    : 'https://huggingface.co/<owner>/<repo>/resolve/main/';
  const lines = [
    '---',
    'license: other',
    fromEditmgt ? 'license_name: editmgt-cc-by-4.0-gemma-terms-mit' : 'license_name: see-card',
    'tags:',
    '- editmgt',
    '- onnx',
    '- image-editing',
    '---',
    '',
    `# ${name}`,
    '',
    'An EditMGT model package for EditMGT Web, the in-browser image editor: ONNX graphs for ' +
      'onnxruntime-web (WebGPU and WASM), the tokenizers, and `manifest.json`, which lists every ' +
      'file with its size and sha256.',
    '',
    '## Open it in the editor',
    '',
  ];
  if (repo && editorUrl) lines.push(`[Open ${name} in the editor](${openLink(editorUrl, packageUrl)})`, '');
  const revision = options.revision ?? 'main';
  const short = repo ? `hf:${repo}${revision !== 'main' ? `@${revision}` : ''}` : undefined;
  lines.push(
    `In the editor's Model panel, choose *Hosted package (URL)…* and enter \`${packageUrl}\`` +
      (short ? ` or its short form \`${short}\`` : '') +
      (editorUrl ? `, or open \`${editorUrl.replace(/\/+$/, '')}/?model=<that URL>\`.` : '.'),
    'The editor asks before downloading from another site, shows the download size, verifies ' +
      "every file's sha256 and keeps the package for offline use.",
    '',
    '## Source',
    '',
    `- Made from: \`${'id' in source ? text(source.id) : 'unknown'}\`` +
      (source.revision ? ` (revision \`${source.revision}\`)` : ''),
  );
  if (generator.tool) {
    const versions = Object.entries(generator.versions ?? {})
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k} ${text(v)}`)
      .join(', ');
    lines.push(`- Converted by: ${generator.tool}${versions ? ` (${versions})` : ''}`);
  }
  if (fromEditmgt)
    lines.push(
      `- Checkpoint: [WeiChow/EditMGT](${EDITMGT_CHECKPOINT}); code: [${EDITMGT_REPO}](${EDITMGT_REPO})`,
    );
  const sizes = dtypeBytes(manifest);
  lines.push('', '## Dtypes', '', '| dtype | runs on | download |', '|---|---|---|');
  for (const [dtype, entry] of Object.entries(manifest.dtypes))
    lines.push(`| ${dtype} | ${(entry.providers ?? []).join(', ')} | ${megabytes(sizes.get(dtype)!)} |`);
  const total = manifest.files.reduce((a, f) => a + f.bytes, 0);
  lines.push(
    '',
    `${manifest.files.length} files, ${megabytes(total)} in all; the editor downloads one dtype.`,
    '',
    '## Licences',
    '',
  );
  if (fromEditmgt)
    lines.push(
      'This package is converted from EditMGT and the text encoders it uses; each keeps its own licence.',
      "The conversion modified the weights' files: they were exported to ONNX and, for dtypes " +
        'other than fp32, quantised or cast.',
      '',
      `- **EditMGT** (transformer and VQ model): CC BY 4.0, as the [EditMGT repository](${EDITMGT_REPO}) ` +
        'states. Credit: Chow et al., *EditMGT: Unleashing Potentials of Masked Generative ' +
        'Transformers in Image Editing* (arXiv:2512.11715).',
      `- **Gemma 2** (instruction encoder, \`text_llm\`): the [Gemma Terms of Use](${GEMMA_TERMS}). ` +
        `${GEMMA_NOTICE}. You must not use it for the restricted uses in the ` +
        `[Gemma Prohibited Use Policy](${GEMMA_POLICY}) or in violation of applicable laws and regulations.`,
      `- **CLIP ViT-H/14, LAION-2B** (CLIP text encoder, \`text_clip\`): MIT, per its ` +
        `[model card](${CLIP_CARD}) and [OpenCLIP](${OPENCLIP_REPO}).`,
    );
  else
    lines.push(
      'This package is not converted from the published EditMGT checkpoint: its weights come ' +
        'from the source above, and no Gemma or CLIP weights are in it.',
    );
  return `${lines.join('\n')}\n`;
}

/** The `NOTICE` file the Gemma Terms of Use (Section 3.1) ask a Distribution to carry ('' for none). */
export function noticeText(fromEditmgt = true): string {
  return fromEditmgt ? `${GEMMA_NOTICE}\n` : '';
}

/** The card's files for a package: `README.md`, and `NOTICE` for a package from EditMGT. */
export function modelCardFiles(manifestJson: unknown, options: ModelCardOptions = {}): Map<string, string> {
  const files = new Map([['README.md', modelCard(manifestJson, options)]]);
  const notice = noticeText(options.fromEditmgt ?? true);
  if (notice) files.set('NOTICE', notice);
  return files;
}
