// The engine is compiled without DOM or WebWorker libraries, yet every long job takes an
// AbortSignal. This is the part of its shape the engine relies on; browsers and node provide it.
interface AbortSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  throwIfAborted(): void;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}
