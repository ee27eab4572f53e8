/**
 * @editmgt/engine/node — the engine on onnxruntime-node (the CPU): `EditMGT.fromPretrained` opens
 * a package folder or URL, plus the node adapters themselves (folder file source, graph runtime,
 * runner) for hosts that assemble their own. Everything the main entry exports is here too.
 */
import { EditError } from '../../errors';
import { Editor } from '../../editor';
import { checkPackageSource } from '../../validate';
import type { PretrainedOptions } from '../../editor';
import { cpuOptions, packageSource } from './modelPackage';
import type { OrtNodeRunner } from './ortNodeRunner';

export * from '../../index';
export { cpuOptions, folderSource, loadTokenizer, nodeRuntime, packageSource } from './modelPackage';
export type { CpuOpenOptions } from './modelPackage';
export { readManifest } from './manifestFile';
export { cacheRoot, FREE_SPACE_MARGIN_BYTES } from './download';
export { OrtNodeRunner } from './ortNodeRunner';
export type { NodeGraphBytes, NodeRunnerOptions } from './ortNodeRunner';

export interface NodePretrainedOptions extends PretrainedOptions {
  /** onnxruntime-node runs the graphs on the CPU */
  readonly device?: 'cpu';
  /**
   * Where a package given by URL is downloaded (default `$EDITMGT_CACHE`, else
   * ~/.cache/editmgt-web); deleting the folder clears the cache.
   */
  readonly cacheDir?: string;
}

/**
 * EditMGT on onnxruntime-node.
 * @example
 * import { EditMGT } from '@editmgt/engine/node';
 * const editor = await EditMGT.fromPretrained('https://example.com/models/shapes/', { onProgress: (p) => console.log(p.loaded, p.total) });
 * const { image } = await editor.edit({ width, height, data }, 'make the circle red', { seed: 3 });
 * await editor.dispose();
 */
export class EditMGT extends Editor<OrtNodeRunner> {
  /**
   * Opens a model package: a folder that holds manifest.json, a `file:` URL, or an http(s) URL
   * (its files are downloaded once into a cache folder and checked against the manifest).
   */
  static async fromPretrained(source: string, options: NodePretrainedOptions = {}): Promise<EditMGT> {
    const { device = 'cpu', dtype, onProgress, signal, cacheDir } = options;
    checkPackageSource(source, 'fromPretrained');
    if (cacheDir !== undefined && (typeof cacheDir !== 'string' || cacheDir.trim() === ''))
      throw new EditError('bad-settings', `cacheDir must name a folder, got ${JSON.stringify(cacheDir)}`);
    if (device !== 'cpu')
      throw new EditError('bad-settings', `in node the device is 'cpu', got '${String(device)}'`);
    return new EditMGT(
      await Editor.open(packageSource(source, cacheDir), cpuOptions(dtype, { onProgress, signal })),
    );
  }
}
