/**
 * A converter's `--source` as a `CheckpointSource`: `hf:owner/repo[@revision]` reads a hub
 * repository over HTTP (hubSource.ts); anything else is a local checkpoint folder.
 */
import type { CheckpointSource } from '../../../convert/byteSource';
import { folderSource } from './folderSource';
import { hubSource, isHubSpec } from './hubSource';
import type { HubSourceOptions } from './hubSource';

export async function checkpointSource(
  source: string,
  options: HubSourceOptions = {},
): Promise<CheckpointSource> {
  return isHubSpec(source) ? hubSource(source, options) : folderSource(source);
}
