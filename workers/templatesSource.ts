/**
 * The converter's templates in the browser: the shipped template folders (templates/ in the
 * repository) are served beside the app under `templates/<name>/…`, with `templates/index.json`
 * listing each folder's files (a static server cannot list a folder). They are fetched when a
 * conversion needs them, never bundled into the app.
 */
import { CheckpointError, chooseTemplates, parsePyJson, readText } from '../src/engine/internal';
import type { ByteSource, Checkpoint, CheckpointSource } from '../src/engine/internal';

/** `templates/index.json` as the build writes it (vite.config.ts). */
export interface TemplatesIndex {
  templates: { name: string; files: Record<string, number> }[];
}

/** Where the app serves the templates (beside its page, under the app's base path). */
export function templatesBase(): string {
  return new URL(`${import.meta.env.BASE_URL}templates/`, self.location.origin).href;
}

async function fetchBytes(url: string, where: string, signal?: AbortSignal): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url, { signal, cache: 'no-cache' });
  } catch (err) {
    signal?.throwIfAborted();
    throw new CheckpointError(
      `the converter's templates could not be fetched (${where}: ${(err as Error).message}); check the connection and try again`,
    );
  }
  if (!response.ok)
    throw new CheckpointError(
      `the converter's templates could not be fetched (${where}: HTTP ${response.status}); this build of the app may not ship them`,
    );
  return new Uint8Array(await response.arrayBuffer());
}

export async function templatesIndex(base: string, signal?: AbortSignal): Promise<TemplatesIndex> {
  const bytes = await fetchBytes(`${base}index.json`, 'templates/index.json', signal);
  const index = JSON.parse(new TextDecoder().decode(bytes)) as TemplatesIndex;
  if (!Array.isArray(index.templates)) throw new CheckpointError('templates/index.json lists no templates');
  return index;
}

/**
 * One template folder over HTTP. A file is fetched whole when opened (templates are graphs
 * without their weights, weight maps and small constants) and kept while the source is: a
 * conversion opens each weight map twice.
 */
export function templatesSource(
  base: string,
  name: string,
  files: Readonly<Record<string, number>>,
): CheckpointSource {
  const kept = new Map<string, Promise<Uint8Array>>();
  const source: CheckpointSource = {
    name: `templates/${name}`,
    async list() {
      return Object.keys(files).sort();
    },
    async open(path, signal): Promise<ByteSource> {
      if (!Object.hasOwn(files, path)) throw new CheckpointError(`templates/${name} has no file ${path}`);
      let pending = kept.get(path);
      if (!pending) {
        pending = fetchBytes(`${base}${name}/${path}`, `templates/${name}/${path}`, signal);
        pending.catch(() => kept.delete(path));
        kept.set(path, pending);
      }
      const bytes = await pending;
      const file = { name: `templates/${name}/${path}`, size: bytes.byteLength };
      return {
        ...file,
        async read(start, end, sig) {
          sig?.throwIfAborted();
          if (start < 0 || end < start || end > bytes.byteLength)
            throw new CheckpointError(`${file.name}: cannot read bytes [${start}, ${end})`);
          return bytes.slice(start, end);
        },
      };
    },
  };
  return source;
}

/**
 * The first shipped templates made for this checkpoint's config (templates/index.json's order);
 * refused naming each one's reason, the closest first (the config field that differs).
 */
export async function findTemplates(
  ckpt: Checkpoint,
  signal?: AbortSignal,
): Promise<{ source: CheckpointSource; name: string; manifest: ReturnType<typeof parsePyJson> }> {
  const base = templatesBase();
  const index = await templatesIndex(base, signal);
  const read: { source: CheckpointSource; name: string; manifest: ReturnType<typeof parsePyJson> }[] = [];
  for (const t of index.templates) {
    const source = templatesSource(base, t.name, t.files);
    const manifest = parsePyJson(
      await readText(source, 'manifest.json', signal),
      `${source.name}/manifest.json`,
    );
    read.push({ source, name: t.name, manifest });
  }
  const choice = chooseTemplates(
    ckpt,
    read.map((r) => ({ name: r.source.name, manifest: r.manifest })),
  );
  if (choice.chosen !== null) return read[choice.chosen]!;
  throw new CheckpointError(
    `${ckpt.source.name} is an EditMGT checkpoint of a config this app has no converter templates for${choice.reasons ? ` (${choice.reasons.split('\n').join('; ')})` : ''}. Convert it with \`npm run convert\` (docs/convert.md), then open the folder it writes.`,
  );
}
