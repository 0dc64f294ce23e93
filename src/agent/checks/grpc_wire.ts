/**
 * The few bytes of the gRPC health protocol (grpc.health.v1), encoded by
 * hand: HealthCheckRequest{service=1}, HealthCheckResponse{status=1} and the
 * 5-byte length-prefixed message framing.
 */

/** grpc.health.v1.HealthCheckResponse.ServingStatus names, by number. */
export const SERVING_STATUS = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"] as const;

/** gRPC status code names, by number, as grpc-go prints them. */
export const GRPC_CODES = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
] as const;

export const HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check";

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** A framed HealthCheckRequest; an empty service name asks about the whole server. */
export function encodeHealthRequest(service: string): Uint8Array {
  const name = new TextEncoder().encode(service);
  const msg = name.length === 0 ? [] : [0x0a, ...varint(name.length), ...name];
  return frame(Uint8Array.from(msg));
}

/** A framed HealthCheckResponse (used by tests' servers). */
export function encodeHealthResponse(status: number): Uint8Array {
  return frame(status === 0 ? new Uint8Array(0) : Uint8Array.from([0x08, ...varint(status)]));
}

function frame(msg: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + msg.length);
  new DataView(out.buffer).setUint32(1, msg.length);
  out.set(msg, 5);
  return out;
}

/** Error for bytes that are not a well-formed health message. */
export class GrpcWireError extends Error {
  override readonly name = "GrpcWireError";
}

/** The first framed message in `data`, unwrapped; throws on short or compressed frames. */
export function unframe(data: Uint8Array): Uint8Array {
  if (data.length < 5) throw new GrpcWireError("response message is missing");
  if (data[0] !== 0) throw new GrpcWireError("compressed response messages are not supported");
  const len = new DataView(data.buffer, data.byteOffset).getUint32(1);
  if (data.length < 5 + len) throw new GrpcWireError("response message is truncated");
  return data.subarray(5, 5 + len);
}

/** Reads field 1 (status) of a HealthCheckRequest/Response message, skipping unknown fields. */
export function decodeStatusField(msg: Uint8Array): number {
  let i = 0;
  let status = 0;
  const readVarint = (): number => {
    let n = 0;
    let shift = 0;
    for (;;) {
      if (i >= msg.length) throw new GrpcWireError("truncated varint");
      const b = msg[i++]!;
      n += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return n;
      shift += 7;
      if (shift > 63) throw new GrpcWireError("varint too long");
    }
  };
  while (i < msg.length) {
    const key = readVarint();
    const fieldNo = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      const v = readVarint();
      if (fieldNo === 1) status = v;
    } else if (wire === 2) {
      i += readVarint();
    } else if (wire === 1) {
      i += 8;
    } else if (wire === 5) {
      i += 4;
    } else {
      throw new GrpcWireError(`unsupported wire type ${wire}`);
    }
    if (i > msg.length) throw new GrpcWireError("truncated field");
  }
  return status;
}

/** Reads the service name of a framed HealthCheckRequest (used by tests' servers). */
export function decodeHealthRequest(data: Uint8Array): string {
  const msg = unframe(data);
  if (msg.length === 0) return "";
  if (msg[0] !== 0x0a) throw new GrpcWireError("unexpected field in request");
  let i = 1;
  let len = 0;
  let shift = 0;
  for (;;) {
    const b = msg[i++] ?? 0;
    len |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
  }
  return new TextDecoder().decode(msg.subarray(i, i + len));
}
