/** The records and messages the DNS handler builds, before they are encoded. */
import { RType } from "./wire.ts";

interface RrBase {
  /** Owner name in presentation form with the trailing dot. */
  readonly name: string;
  readonly ttl: number;
}

export interface ARecord extends RrBase {
  readonly type: typeof RType.A;
  readonly ip: Uint8Array;
}

export interface AaaaRecord extends RrBase {
  readonly type: typeof RType.AAAA;
  readonly ip: Uint8Array;
}

export interface NameRecord extends RrBase {
  readonly type: typeof RType.CNAME | typeof RType.PTR | typeof RType.NS;
  readonly target: string;
}

export interface SrvRecord extends RrBase {
  readonly type: typeof RType.SRV;
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: string;
}

export interface TxtRecord extends RrBase {
  readonly type: typeof RType.TXT;
  readonly texts: readonly string[];
}

export interface SoaRecord extends RrBase {
  readonly type: typeof RType.SOA;
  readonly mname: string;
  readonly rname: string;
  readonly serial: number;
  readonly refresh: number;
  readonly retry: number;
  readonly expire: number;
  readonly minimum: number;
}

export interface EdnsOption {
  readonly code: number;
  readonly data: Uint8Array;
}

export interface OptRecord {
  readonly type: typeof RType.OPT;
  readonly name: ".";
  readonly udpSize: number;
  readonly options: readonly EdnsOption[];
}

export type Rr = ARecord | AaaaRecord | NameRecord | SrvRecord | TxtRecord | SoaRecord | OptRecord;

export interface Question {
  readonly name: string;
  readonly qtype: number;
  readonly qclass: number;
}

export interface Message {
  readonly id: number;
  /** Header flags without the rcode (QR, opcode, AA, TC, RD, RA, CD). */
  flags: number;
  rcode: number;
  readonly question: Question | null;
  answer: Rr[];
  authority: Rr[];
  additional: Rr[];
}

/** A record with a new owner name or TTL (records are immutable values). */
export function withHeader<T extends Exclude<Rr, OptRecord>>(rr: T, name: string, ttl: number): T {
  return { ...rr, name, ttl };
}

function ipText(ip: Uint8Array): string {
  if (ip.length === 4) return ip.join(".");
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(((ip[i]! << 8) | ip[i + 1]!).toString(16));
  return parts.join(":");
}

/** A stable text form of a record, for de-duplication (miekg's RR.String()). */
export function rrKey(rr: Rr): string {
  switch (rr.type) {
    case RType.A:
    case RType.AAAA:
      return `${rr.name.toLowerCase()}\t${rr.ttl}\t${rr.type}\t${ipText(rr.ip)}`;
    case RType.CNAME:
    case RType.PTR:
    case RType.NS:
      return `${rr.name.toLowerCase()}\t${rr.ttl}\t${rr.type}\t${rr.target}`;
    case RType.SRV:
      return `${rr.name.toLowerCase()}\t${rr.ttl}\tSRV\t${rr.priority} ${rr.weight} ${rr.port} ${rr.target}`;
    case RType.TXT:
      return `${rr.name.toLowerCase()}\t${rr.ttl}\tTXT\t${rr.texts.join("\u0000")}`;
    case RType.SOA:
      return `${rr.name.toLowerCase()}\tSOA\t${rr.mname} ${rr.rname} ${rr.serial}`;
    case RType.OPT:
      return "OPT";
  }
}
