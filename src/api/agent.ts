/** The agent endpoints the CLI needs (`/v1/agent/self`, `/v1/agent/members`). */
import type { Client } from "./client.ts";
import { ApiDecodeError } from "./errors.ts";
import type { QueryOptions } from "./options.ts";
import { asArray } from "./types.ts";

/** Serf member status codes, as `serf.MemberStatus`. */
export const MemberStatus = { None: 0, Alive: 1, Leaving: 2, Left: 3, Failed: 4 } as const;
export type MemberStatus = (typeof MemberStatus)[keyof typeof MemberStatus];

/** Tag keys agents gossip about themselves. */
export const MemberTag = {
  Role: "role",
  RoleServer: "consul",
  RoleClient: "node",
  Datacenter: "dc",
  Segment: "segment",
  Partition: "ap",
  Build: "build",
  Version: "vsn",
} as const;

export interface AgentMember {
  Name: string;
  Addr: string;
  Port: number;
  Tags: Record<string, string>;
  /** See `MemberStatus`. */
  Status: number;
  ProtocolMin: number;
  ProtocolMax: number;
  ProtocolCur: number;
  DelegateMin: number;
  DelegateMax: number;
  DelegateCur: number;
}

export interface MembersOptions {
  readonly wan?: boolean;
  /** LAN segment, or "_all". */
  readonly segment?: string;
  readonly filter?: string;
}

/** `/v1/agent/self`: sections (`Config`, `Member`, `Stats`...) of loosely typed values. */
export type AgentSelf = Record<string, Record<string, unknown>>;

export class Agent {
  private readonly c: Client;

  constructor(c: Client) {
    this.c = c;
  }

  async self(q?: QueryOptions): Promise<AgentSelf> {
    const [self] = await this.c.query("/v1/agent/self", q, (j) => (j ?? {}) as AgentSelf);
    return self;
  }

  /** The agent's node name (`Config.NodeName` of `self`). */
  async nodeName(): Promise<string> {
    const self = await this.self();
    const name = self.Config?.NodeName;
    if (typeof name !== "string") throw new ApiDecodeError("Agent self has no Config.NodeName", "/v1/agent/self");
    return name;
  }

  async members(wan = false): Promise<AgentMember[]> {
    return this.membersOpts({ wan });
  }

  async membersOpts(options: MembersOptions): Promise<AgentMember[]> {
    const params: (readonly [string, string])[] = [];
    if (options.segment) params.push(["segment", options.segment]);
    if (options.wan) params.push(["wan", "1"]);
    if (options.filter) params.push(["filter", options.filter]);
    const [members] = await this.c.query("/v1/agent/members", undefined, (j) => asArray<AgentMember>(j), params);
    return members;
  }
}
