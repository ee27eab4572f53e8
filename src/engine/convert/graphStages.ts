/**
 * An ONNX graph cut in two at one tensor, for running it as two sessions one after the other: the
 * first stage (the graph's inputs → the cut tensor) and the second (the cut tensor → the graph's
 * outputs). Each stage is the same nodes with the same initializers (external data still points
 * at the graph's own data file), so the sums are the graph's own.
 *
 * Why: a runtime holds a session's weights as long as the session, and its activations only
 * while it runs. A decoder keeps most of its weights in its low-resolution layers and its
 * largest activations in its last ones (the VQ-GAN decode at 512 px: 334 MiB of weights, and
 * five 128 MiB activations live at once in its 512 px blocks). Run whole, both are held at once;
 * run in stages, with each session released before the next is made, only the larger of the two.
 */
import { ONNX_TYPES, readOnnxGraph, tensorByteLength } from './onnxProto';

export interface GraphStages {
  /** the tensor the first stage outputs and the second takes */
  readonly cut: string;
  /** ModelProto bytes of each stage */
  readonly first: Uint8Array;
  readonly second: Uint8Array;
  /** bytes of the initializers each stage reads */
  readonly weightBytes: readonly [number, number];
}

/** A protobuf field of a message: its number and the bytes of the whole field (key included). */
interface RawField {
  readonly field: number;
  readonly bytes: Uint8Array;
  /** the payload of a length-delimited field */
  readonly payload?: Uint8Array;
}

function varint(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (;;) {
    const b = bytes[at++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, at];
    scale *= 128;
  }
}

/** The fields of a message that `readOnnxGraph` has already walked and checked. */
function rawFields(bytes: Uint8Array): RawField[] {
  const out: RawField[] = [];
  let at = 0;
  while (at < bytes.length) {
    const start = at;
    const [key, afterKey] = varint(bytes, at);
    at = afterKey;
    const wire = key & 7;
    let payload: Uint8Array | undefined;
    if (wire === 0) at = varint(bytes, at)[1];
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const [n, afterLength] = varint(bytes, at);
      payload = bytes.subarray(afterLength, afterLength + n);
      at = afterLength + n;
    } else throw new Error(`wire type ${wire} in a checked graph`);
    out.push({ field: Math.floor(key / 8), bytes: bytes.subarray(start, at), payload });
  }
  return out;
}

function encodeVarint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

function lengthDelimited(field: number, parts: readonly Uint8Array[]): Uint8Array {
  const length = parts.reduce((a, p) => a + p.length, 0);
  const head = [...encodeVarint(field * 8 + 2), ...encodeVarint(length)];
  const out = new Uint8Array(head.length + length);
  out.set(head);
  let at = head.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// TextDecoder is in every host (browsers, workers, node) but not in the engine's ES2022 lib.
const decoder = new (
  globalThis as unknown as { TextDecoder: new (label: string) => { decode(b: Uint8Array): string } }
).TextDecoder('utf-8');

/** The name (field 1) of a ValueInfoProto's payload. */
function valueInfoName(payload: Uint8Array): string {
  const name = rawFields(payload).find((f) => f.field === 1);
  return name?.payload ? decoder.decode(name.payload) : '';
}

/** The tensor element type (type.tensor_type.elem_type) of a ValueInfoProto's payload, or 0. */
function valueInfoElemType(payload: Uint8Array): number {
  const type = rawFields(payload).find((f) => f.field === 2)?.payload;
  const tensor = type && rawFields(type).find((f) => f.field === 1)?.payload;
  const elem = tensor && rawFields(tensor).find((f) => f.field === 1);
  return elem ? varint(elem.bytes, 1)[0] : 0; // after the one-byte key of field 1
}

/** A ModelProto of `modelFields` whose graph (field 7) is made of `graphParts`. */
function withGraph(modelFields: readonly RawField[], graphParts: readonly Uint8Array[]): Uint8Array {
  const model = modelFields.map((f) =>
    f.field === MODEL_GRAPH ? lengthDelimited(MODEL_GRAPH, graphParts) : f.bytes,
  );
  const out = new Uint8Array(model.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of model) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const GRAPH = { node: 1, initializer: 5, sparseInitializer: 15, input: 11, output: 12, valueInfo: 13 };
const MODEL_GRAPH = 7;
const CUT_TYPES = new Set<number>([ONNX_TYPES.FLOAT, ONNX_TYPES.INT32, ONNX_TYPES.INT64]);
/** ops whose subgraphs may read tensors of the outer graph that the nodes' inputs do not name */
const SUBGRAPH_OPS = new Set(['If', 'Loop', 'Scan', 'SequenceMap']);

/**
 * Cuts the graph in `bytes` after the earliest node where exactly one tensor (float32, int32 or
 * int64 by its `value_info`) passes from the nodes before to the nodes after, and the nodes after read at most
 * `maxSecondShare` of the graph's initializer bytes; null when no such cut exists (or the graph
 * has sparse initializers or subgraphs), and the graph should be run whole.
 */
export function splitGraph(bytes: Uint8Array, file: string, maxSecondShare = 1 / 32): GraphStages | null {
  const graph = readOnnxGraph(bytes, file);
  const { nodes } = graph;
  if (nodes.some((n) => SUBGRAPH_OPS.has(n.opType))) return null;
  const modelFields = rawFields(bytes);
  const graphPayload = modelFields.find((f) => f.field === MODEL_GRAPH)?.payload;
  if (!graphPayload) return null;
  const graphFields = rawFields(graphPayload);
  if (graphFields.some((f) => f.field === GRAPH.sparseInitializer)) return null;

  const initBytes = new Map(
    graph.initializers.map((t) => [t.name, t.external?.length ?? tensorByteLength(t) ?? 0]),
  );
  const totalWeights = [...initBytes.values()].reduce((a, b) => a + b, 0);
  const outputs = new Set(graph.outputs);
  // first and last node index reading each initializer, and last reading each other tensor
  const initFirst = new Map<string, number>();
  const initLast = new Map<string, number>();
  const lastUse = new Map<string, number>();
  nodes.forEach((node, i) => {
    for (const name of node.inputs) {
      if (!name) continue;
      if (initBytes.has(name)) {
        if (!initFirst.has(name)) initFirst.set(name, i);
        initLast.set(name, i);
      } else lastUse.set(name, i);
    }
  });
  // the cut passes through the host's tensors: float32, int32 or int64 (no float16, say)
  const passable = new Set(
    graphFields
      .filter((f) => f.field === GRAPH.valueInfo && CUT_TYPES.has(valueInfoElemType(f.payload!)))
      .map((f) => valueInfoName(f.payload!)),
  );

  // sweep the cut after node k: the tensors made at or before k and read after it
  const live = new Set<string>(graph.inputs.filter((n) => !initBytes.has(n) && lastUse.has(n)));
  const weightsAfter = (k: number) =>
    [...initLast].reduce((a, [name, last]) => (last > k ? a + initBytes.get(name)! : a), 0);
  let cut: { at: number; tensor: string } | undefined;
  for (let k = 0; k < nodes.length - 1 && !cut; k++) {
    for (const name of nodes[k]!.outputs)
      if (name && (lastUse.has(name) || outputs.has(name))) live.add(name);
    for (const name of [...live]) if (!outputs.has(name) && lastUse.get(name)! <= k) live.delete(name);
    if (live.size !== 1) continue;
    const [tensor] = live as Set<string>;
    if (outputs.has(tensor!) || graph.inputs.includes(tensor!) || !passable.has(tensor!)) continue;
    if (weightsAfter(k) <= totalWeights * maxSecondShare) cut = { at: k, tensor: tensor! };
  }
  if (!cut) return null;
  const { at, tensor } = cut;

  const nodeFields = graphFields.filter((f) => f.field === GRAPH.node);
  const initFields = graphFields.filter((f) => f.field === GRAPH.initializer);
  const valueInfo = graphFields.find(
    (f) => f.field === GRAPH.valueInfo && valueInfoName(f.payload!) === tensor,
  )!;
  const cutInfo = (field: number) => lengthDelimited(field, [valueInfo.payload!]);
  const stage = (second: boolean) => {
    const inStage = (i: number) => (second ? i > at : i <= at);
    const parts: Uint8Array[] = [];
    let weights = 0;
    // the types of the tensors made inside the stage (the cut tensor's is its input or output)
    const made = new Set(nodes.filter((_, i) => inStage(i)).flatMap((n) => n.outputs));
    made.delete(tensor);
    for (const f of graphFields) {
      if (f.field === GRAPH.valueInfo && made.has(valueInfoName(f.payload!))) parts.push(f.bytes);
      if (f.field === GRAPH.node || f.field === GRAPH.initializer || f.field === GRAPH.valueInfo) continue;
      if (f.field === GRAPH.input) {
        if (!second) parts.push(f.bytes);
      } else if (f.field === GRAPH.output) {
        if (second) parts.push(f.bytes);
      } else parts.push(f.bytes); // name, doc string
    }
    parts.push(second ? cutInfo(GRAPH.input) : cutInfo(GRAPH.output));
    graph.initializers.forEach((t, i) => {
      const first = initFirst.get(t.name);
      const last = initLast.get(t.name);
      const used = first !== undefined && (second ? last! > at : first <= at);
      if (!used) return;
      parts.push(initFields[i]!.bytes);
      weights += initBytes.get(t.name)!;
    });
    nodeFields.forEach((f, i) => {
      if (inStage(i)) parts.push(f.bytes);
    });
    return { bytes: withGraph(modelFields, parts), weights };
  };
  const first = stage(false);
  const second = stage(true);
  return {
    cut: tensor,
    first: first.bytes,
    second: second.bytes,
    weightBytes: [first.weights, second.weights],
  };
}

/** The initializer bytes a graph reads (external lengths, or their types' sizes). */
function weightBytesOf(bytes: Uint8Array, file: string): number {
  return readOnnxGraph(bytes, file).initializers.reduce(
    (a, t) => a + (t.external?.length ?? tensorByteLength(t) ?? 0),
    0,
  );
}

/**
 * The graph in `bytes` as a chain of stages, each a graph of its own whose one input is the one
 * output of the stage before: the tail cut off as `splitGraph` does (at most `tailShare` of the
 * weights), then what comes before it cut again, from its end, into stages of at most
 * `maxShare` of the graph's weights each where one-tensor cuts allow (a stage may hold more when
 * no cut falls inside it). One stage, the graph itself, when it has no cut.
 *
 * Why more than two: a runtime that takes a stage's external data file whole holds that file in
 * JS memory while it makes the stage's session, beside a heap already grown to the largest
 * activations; smaller stages hold less of it at a time.
 */
export function splitStages(
  bytes: Uint8Array,
  file: string,
  options: { tailShare?: number; maxShare?: number } = {},
): Uint8Array[] {
  const tail = splitGraph(bytes, file, options.tailShare ?? 1 / 32);
  if (!tail) return [bytes];
  const budget = weightBytesOf(bytes, file) * (options.maxShare ?? 1);
  const stages = [tail.second];
  let rest = tail.first;
  for (let restWeights = tail.weightBytes[0]; restWeights > budget;) {
    const cut = splitGraph(rest, file, budget / restWeights);
    if (!cut || cut.weightBytes[1] === 0) break;
    stages.unshift(cut.second);
    rest = cut.first;
    restWeights = cut.weightBytes[0];
  }
  stages.unshift(rest);
  return stages;
}

/** TensorProto fields: the inline bytes, and where external data is described. */
const TENSOR = { rawData: 9, externalData: 13, dataLocation: 14 };

/**
 * The graph in `bytes` with every initializer that lives in external data carried inline
 * (`raw_data`) instead, its bytes got from `read` (the data file named by the initializer's
 * `location`, from `offset`, `length` bytes). The graph then needs no data file: for a stage that
 * reads a small part of a large shared file (the VQ-GAN decode's second stage: 6.3 MiB of a
 * 334 MiB file), so a runtime that takes an external file whole (onnxruntime-web's JSEP build)
 * does not read the rest. The nodes and every other field are kept byte for byte; the tensors'
 * values are the same bytes, so the sums are the graph's own.
 */
export async function inlineExternalData(
  bytes: Uint8Array,
  file: string,
  read: (location: string, offset: number, length: number) => Promise<Uint8Array>,
): Promise<Uint8Array> {
  const graph = readOnnxGraph(bytes, file);
  const modelFields = rawFields(bytes);
  const graphField = modelFields.find((f) => f.field === MODEL_GRAPH);
  if (!graphField?.payload) return bytes;
  // the new graph's pieces: bytes kept as they are, or a tensor's bytes to be read into place
  type Piece = Uint8Array | { location: string; offset: number; length: number; name: string };
  const graphPieces: Piece[] = [];
  let i = 0;
  for (const f of rawFields(graphField.payload)) {
    const t = f.field === GRAPH.initializer ? graph.initializers[i++]! : null;
    if (!t?.external) {
      graphPieces.push(f.bytes);
      continue;
    }
    const length = t.external.length ?? tensorByteLength(t);
    if (length === undefined) throw new Error(`${file}: ${t.name} is external with no length`);
    const kept = rawFields(f.payload!).filter(
      (g) => g.field !== TENSOR.externalData && g.field !== TENSOR.dataLocation,
    );
    const rawHead = Uint8Array.from([...encodeVarint(TENSOR.rawData * 8 + 2), ...encodeVarint(length)]);
    const tensorLength = kept.reduce((a, g) => a + g.bytes.length, 0) + rawHead.length + length;
    graphPieces.push(
      Uint8Array.from([...encodeVarint(GRAPH.initializer * 8 + 2), ...encodeVarint(tensorLength)]),
      ...kept.map((g) => g.bytes),
      rawHead,
      { location: t.external.location, offset: t.external.offset, length, name: t.name },
    );
  }
  const graphLength = graphPieces.reduce((a, p) => a + p.length, 0);
  const pieces: Piece[] = [];
  for (const f of modelFields)
    if (f.field === MODEL_GRAPH)
      pieces.push(
        Uint8Array.from([...encodeVarint(MODEL_GRAPH * 8 + 2), ...encodeVarint(graphLength)]),
        ...graphPieces,
      );
    else pieces.push(f.bytes);
  // one buffer, each tensor read straight into its place
  const out = new Uint8Array(pieces.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    if (p instanceof Uint8Array) out.set(p, at);
    else {
      const data = await read(p.location, p.offset, p.length);
      if (data.byteLength !== p.length)
        throw new Error(
          `${file}: ${p.name} needs ${p.length} bytes of ${p.location} from ${p.offset}, got ${data.byteLength}`,
        );
      out.set(data, at);
    }
    at += p.length;
  }
  return out;
}
