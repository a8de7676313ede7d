import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { toStatus } from '../../shared/grpc-status.js';

/**
 * Wraps a plain async handler as a grpc-js unary handler. Handlers never touch the
 * callback: a resolved value is the response, a thrown TswarmError is the status.
 */
export function unary<Req, Res>(
  fn: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then(
        (res) => {
          callback(null, res);
        },
        (err: unknown) => {
          callback(toStatus(err));
        },
      );
  };
}
