import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import path from 'node:path';
import { PROTO_DIR } from './version.js';

/** proto-loader options matching the flags the types in proto/gen were generated with. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

const loaded = new Map<string, grpc.GrpcObject>();

/**
 * Loads proto/<file> once per process (parsing it costs tens of ms, and clients are made on
 * hot paths: sessions, forwarding, joins) and returns its grpc object, typed with the
 * generated ProtoGrpcType.
 */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the generated type
export function loadProto<T>(file: string): T {
  let obj = loaded.get(file);
  if (!obj) {
    const def = protoLoader.loadSync(path.join(PROTO_DIR, file), PROTO_LOADER_OPTIONS);
    obj = grpc.loadPackageDefinition(def);
    loaded.set(file, obj);
  }
  return obj as unknown as T;
}
