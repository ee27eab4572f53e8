/**
 * Where a checkpoint to convert comes from (the protocol's `CheckpointDescriptor`) → the
 * converter's `CheckpointSource`. One function per kind; the conversion itself
 * (convertCheckpoint.ts) does not know which kind it reads.
 */
import type { CheckpointSource } from '../src/engine/internal';
import { assertNever } from '../src/protocol/messages';
import type { CheckpointDescriptor } from '../src/protocol/messages';
import { fileCheckpointSource } from './fileCheckpointSource';

export async function checkpointSourceOf(descriptor: CheckpointDescriptor): Promise<CheckpointSource> {
  switch (descriptor.kind) {
    case 'files':
      return fileCheckpointSource(descriptor.name, descriptor.files);
    default:
      return assertNever(descriptor.kind);
  }
}
