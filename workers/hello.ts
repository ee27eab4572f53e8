/**
 * The protocol handshake, worker side: the page's first request names the protocol version it
 * was built with. A worker from another build of the app (a page left open across a deploy, a
 * cached page meeting a new worker) answers with `version-mismatch`, and the page says so.
 */
import { PROTOCOL_VERSION } from '../src/protocol/messages';
import type { ProductRequest, WorkerReply } from '../src/protocol/messages';

export function answerHello(
  req: Extract<ProductRequest, { type: 'hello' }>,
  version = PROTOCOL_VERSION,
): WorkerReply {
  if (req.version === version) return { type: 'hello', id: req.id, version };
  return {
    type: 'error',
    id: req.id,
    code: 'version-mismatch',
    message: `the engine speaks protocol ${version}, this page ${req.version}`,
  };
}
