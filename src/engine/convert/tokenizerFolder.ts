/**
 * A checkpoint's tokenizer folder in either layout: `tokenizer.json` (read as it is), or only
 * `vocab.json` + `merges.txt` (a CLIP tokenizer saved by the slow class), turned into the
 * tokenizer.json it stands for (clipTokenizer.ts). tokenizer_config.json and
 * special_tokens_map.json come along when present.
 */
import { CheckpointError, readJsonObject, readText } from './byteSource';
import type { CheckpointSource } from './byteSource';
import { clipTokenizerJson, tokenizerJsonText } from './clipTokenizer';
import type { TokenizerJson } from './clipTokenizer';

export interface TokenizerFolder {
  readonly subfolder: string;
  /** which files the tokenizer.json comes from */
  readonly layout: 'tokenizer.json' | 'vocab.json+merges.txt';
  /** tokenizer.json's text: the folder's own, or the one made from vocab.json + merges.txt */
  readonly tokenizerJson: string;
  /** the made tokenizer.json as a value (vocab.json + merges.txt layout only), for `withFixedLength` */
  readonly made?: TokenizerJson;
  readonly tokenizerConfig?: Record<string, unknown>;
  readonly specialTokensMap?: Record<string, unknown>;
}

export async function readTokenizerFolder(
  source: CheckpointSource,
  subfolder: string,
  signal?: AbortSignal,
): Promise<TokenizerFolder> {
  const files = new Set(await source.list(signal));
  const at = (name: string) => `${subfolder}/${name}`;
  const optional = async (name: string) =>
    files.has(at(name)) ? readJsonObject(source, at(name), signal) : undefined;
  const tokenizerConfig = await optional('tokenizer_config.json');
  const specialTokensMap = await optional('special_tokens_map.json');
  if (files.has(at('tokenizer.json'))) {
    const tokenizerJson = await readText(source, at('tokenizer.json'), signal);
    try {
      JSON.parse(tokenizerJson);
    } catch (err) {
      throw new CheckpointError(
        `${source.name}/${at('tokenizer.json')} is not valid JSON (${(err as Error).message})`,
      );
    }
    return { subfolder, layout: 'tokenizer.json', tokenizerJson, tokenizerConfig, specialTokensMap };
  }
  if (files.has(at('vocab.json'))) {
    if (!files.has(at('merges.txt')))
      throw new CheckpointError(`${source.name}/${subfolder} has vocab.json but no merges.txt`);
    const json = clipTokenizerJson({
      vocabJson: await readText(source, at('vocab.json'), signal),
      mergesTxt: await readText(source, at('merges.txt'), signal),
      where: `${source.name}/${subfolder}`,
    });
    return {
      subfolder,
      layout: 'vocab.json+merges.txt',
      tokenizerJson: tokenizerJsonText(json),
      made: json,
      tokenizerConfig,
      specialTokensMap,
    };
  }
  const spm = files.has(at('tokenizer.model')) ? ' (a SentencePiece tokenizer.model alone is not read)' : '';
  throw new CheckpointError(
    `${source.name}/${subfolder} has neither tokenizer.json nor vocab.json + merges.txt${spm}`,
  );
}
