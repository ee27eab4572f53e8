/**
 * Where a checkpoint to convert comes from (the protocol's `CheckpointDescriptor`) → the
 * converter's `CheckpointSource`. One function per kind; the conversion itself
 * (convertCheckpoint.ts) does not know which kind it reads.
 */
import type { CheckpointSource } from '../src/engine/internal';
import { webHubSource } from '../src/engine/runtime/web/internal';
import { assertNever } from '../src/protocol/messages';
import type { CheckpointDescriptor } from '../src/protocol/messages';
import { fileCheckpointSource } from './fileCheckpointSource';

export async function checkpointSourceOf(descriptor: CheckpointDescriptor): Promise<CheckpointSource> {
  switch (descriptor.kind) {
    case 'files':
      return fileCheckpointSource(descriptor.name, descriptor.files);
    case 'hub': {
      // pinned to the commit the offer named; the token (if any) goes to the hub's origin only
      const { repo, commit, endpoint, hubAuth, name } = descriptor;
      const hub = await webHubSource(`hf:${repo}@${commit}`, { endpoint, token: hubAuth?.token });
      return { name, list: (signal) => hub.list(signal), open: (path, signal) => hub.open(path, signal) };
    }
    default:
      return assertNever(descriptor);
  }
}
