import type { ProtoGrpcType as RaftProto } from '../../../proto/gen/raft.js';
import type { RaftClient, RaftDefinition } from '../../../proto/gen/tswarm/raft/v1/Raft.js';
import { loadProto } from '../../shared/proto.js';

export type { RaftClient, RaftDefinition };

/** proto/raft.proto's package tswarm.raft.v1 (loadProto parses it once per process). */
export function raftProto(): RaftProto['tswarm']['raft']['v1'] {
  return loadProto<RaftProto>('raft.proto').tswarm.raft.v1;
}
