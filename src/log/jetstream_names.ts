/**
 * Where one datacenter keeps its cluster state in JetStream. Every server of
 * the datacenter derives the same names from the datacenter's name.
 */

/** Consul datacenter names are letters, digits, `-` and `_`; all three NATS name kinds accept them. */
const DC_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export interface ClusterNames {
  /** The stream holding the log (replicas 3, file storage). */
  readonly stream: string;
  /** The subject appends are published to. */
  readonly subject: string;
  /** Object store bucket with the newest state snapshot. */
  readonly snapshots: string;
  /** KV bucket with the leadership lease and the server registry. */
  readonly kv: string;
  /** Prefix of request/reply subjects between the servers (`consulate.rpc.<dc>.<endpoint>`). */
  readonly rpc: string;
}

export function clusterNames(datacenter: string): ClusterNames {
  if (!DC_NAME.test(datacenter)) {
    throw new RangeError(`Datacenter name "${datacenter}" cannot name a JetStream stream: use letters, digits, "-" and "_" (at most 64)`);
  }
  return {
    stream: `consulate-log-${datacenter}`,
    subject: `consulate.log.${datacenter}`,
    snapshots: `consulate-snapshots-${datacenter}`,
    kv: `consulate-${datacenter}`,
    rpc: `consulate.rpc.${datacenter}`,
  };
}
