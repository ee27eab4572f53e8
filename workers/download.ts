/**
 * Fetching with a stall timeout and a size cap. A server that stops sending (half a graph, then
 * nothing) must not hang a load for good: when no byte arrives for `stallMs` the request is
 * aborted and the caller gets a `StallError` naming what it was fetching.
 */

/** Seconds of silence after which a download counts as stalled, unless the request says otherwise. */
export const DEFAULT_STALL_MS = 30_000;

/** A package file or manifest that could not be downloaded (network, HTTP status, cut short). */
export class FetchError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'FetchError';
  }
}

/** The server stopped sending. */
export class StallError extends FetchError {
  constructor(what: string, stallMs: number, progress: string) {
    super(
      `the download of ${what} stalled: the server sent nothing for ${Math.round(stallMs / 1000)} s${progress}. ` +
        'Try Load again later (the download resumes where it stopped), or check the model server.',
    );
    this.name = 'StallError';
  }
}

/**
 * An abort signal that fires when `kick()` has not been called for `stallMs`, or when `outer`
 * aborts. Call `stop()` when done.
 */
export class StallWatch {
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  stalled = false;

  constructor(
    readonly stallMs: number,
    private readonly outer?: AbortSignal,
  ) {
    if (outer?.aborted) this.controller.abort(outer.reason);
    outer?.addEventListener('abort', this.onOuterAbort);
    this.kick();
  }

  private readonly onOuterAbort = () => this.controller.abort(this.outer!.reason);

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Bytes (or headers) arrived: the silence starts again. */
  kick(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.stalled = true;
      this.controller.abort(new DOMException('the server stopped sending', 'TimeoutError'));
    }, this.stallMs);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.outer?.removeEventListener('abort', this.onOuterAbort);
  }
}
