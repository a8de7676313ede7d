/** The raft transport: the interface the driver uses, the gRPC implementation and a simulated one. */
export type { MessageCodec, Transport } from './transport.js';
export { COALESCE_MAX_BYTES, coalesceMessages } from './coalesce.js';
export { GrpcTransport, RAFT_CODEC, type GrpcTransportOptions } from './grpc.js';
export {
  DEFAULT_GRPC_TUNING,
  RAFT_SERVER_OPTIONS,
  type GrpcServing,
  type GrpcTuning,
} from './grpc-endpoint.js';
export type { PeerLinkStats } from './peer-link.js';
export { SimNetwork, SimTransport, type SimNetworkOptions, type SimStats } from './sim.js';
export type { TransportLogger } from './logger.js';
