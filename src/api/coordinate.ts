/** Network coordinates (`/v1/coordinate`), as the Go client's `api.Coordinate`. */
import type { Client } from "./client.ts";
import { encodeJson } from "./json.ts";
import type { QueryMeta, QueryOptions, WriteOptions } from "./options.ts";
import { asArray } from "./types.ts";

/** A Vivaldi coordinate: distances in seconds. */
export interface Coord {
  Vec: number[];
  Error: number;
  Adjustment: number;
  Height: number;
}

export interface CoordinateEntry {
  Node: string;
  Segment: string;
  Partition?: string;
  Coord: Coord;
}

export interface CoordinateDatacenterMap {
  Datacenter: string;
  AreaID: string;
  Coordinates: CoordinateEntry[];
}

export class Coordinate {
  private readonly c: Client;

  constructor(c: Client) {
    this.c = c;
  }

  /** Every datacenter's servers with their WAN coordinates. */
  async datacenters(): Promise<CoordinateDatacenterMap[]> {
    const [maps] = await this.c.query("/v1/coordinate/datacenters", undefined, (j) => asArray<CoordinateDatacenterMap>(j));
    return maps;
  }

  /** The LAN coordinates of every node of the datacenter. */
  async nodes(q?: QueryOptions): Promise<[CoordinateEntry[], QueryMeta]> {
    return this.c.query("/v1/coordinate/nodes", q, (j) => asArray<CoordinateEntry>(j));
  }

  /** One node's LAN coordinates (one per segment); a node without any is a 404 `ApiError`. */
  async node(node: string, q?: QueryOptions): Promise<[CoordinateEntry[], QueryMeta]> {
    return this.c.query(`/v1/coordinate/node/${encodeURIComponent(node)}`, q, (j) => asArray<CoordinateEntry>(j));
  }

  /** Sets a node's LAN coordinate (the servers write it with their next batch). */
  async update(entry: CoordinateEntry, w?: WriteOptions): Promise<void> {
    await this.c.write("PUT", "/v1/coordinate/update", encodeJson(entry), w);
  }
}
