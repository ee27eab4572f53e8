/**
 * Diagnostics: the size of the runtime's WebAssembly heap. onnxruntime-web does not expose its
 * module, but its Emscripten glue makes the heap with `new WebAssembly.Memory(...)` when it first
 * starts; this module wraps that constructor (before the runtime starts) and keeps every memory
 * made, so the largest one's current size can be read. A WASM heap never shrinks, so its size now
 * is its high-water mark.
 */
const memories: WeakRef<WebAssembly.Memory>[] = [];

const Original = WebAssembly.Memory;
WebAssembly.Memory = new Proxy(Original, {
  construct(target, args: [WebAssembly.MemoryDescriptor]) {
    const memory = new target(...args);
    memories.push(new WeakRef(memory));
    return memory;
  },
});

/** Bytes of the largest WebAssembly memory made in this worker, or null if none was made yet. */
export function wasmHeapBytes(): number | null {
  let largest: number | null = null;
  for (const ref of memories) {
    const m = ref.deref();
    if (m) largest = Math.max(largest ?? 0, m.buffer.byteLength);
  }
  return largest;
}
