/**
 * Just enough MessagePack for serf's RPC (bench only): maps with string
 * keys, strings, binary, integers, booleans, nil, arrays and floats.
 */
export type Mp = null | boolean | number | string | Uint8Array | Mp[] | { [k: string]: Mp };

const te = new TextEncoder();
const td = new TextDecoder();

export function encode(v: Mp): Uint8Array {
  const out: number[] = [];
  const u32 = (n: number): void => {
    out.push((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
  };
  const w = (x: Mp): void => {
    if (x === null) out.push(0xc0);
    else if (x === false) out.push(0xc2);
    else if (x === true) out.push(0xc3);
    else if (typeof x === "number") {
      if (Number.isInteger(x) && x >= 0 && x < 2 ** 32) {
        if (x < 128) out.push(x);
        else out.push(0xce), u32(x);
      } else if (Number.isInteger(x) && x < 0 && x >= -32) out.push(x & 0xff);
      else {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setFloat64(0, x);
        out.push(0xcb, ...b);
      }
    } else if (typeof x === "string") {
      const b = te.encode(x);
      if (b.length < 32) out.push(0xa0 | b.length);
      else out.push(0xdb), u32(b.length);
      out.push(...b);
    } else if (x instanceof Uint8Array) {
      out.push(0xc6);
      u32(x.length);
      out.push(...x);
    } else if (Array.isArray(x)) {
      out.push(0xdd);
      u32(x.length);
      for (const e of x) w(e);
    } else {
      const keys = Object.keys(x);
      out.push(0xdf);
      u32(keys.length);
      for (const k of keys) {
        w(k);
        w(x[k] as Mp);
      }
    }
  };
  w(v);
  return new Uint8Array(out);
}

export class NeedMore extends Error {}

/** Decodes one value at `pos`; throws NeedMore when the buffer ends first. */
export function decode(buf: Uint8Array, pos: number): [Mp, number] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let p = pos;
  const need = (n: number): void => {
    if (p + n > buf.length) throw new NeedMore();
  };
  const u8 = (): number => (need(1), buf[p++] as number);
  const uN = (n: number): number => {
    need(n);
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + (buf[p++] as number);
    return v;
  };
  const bytes = (n: number): Uint8Array => {
    need(n);
    const b = buf.slice(p, p + n);
    p += n;
    return b;
  };
  const r = (): Mp => {
    const t = u8();
    if (t < 0x80) return t;
    if (t >= 0xe0) return t - 256;
    if ((t & 0xf0) === 0x80) return map(t & 0x0f);
    if ((t & 0xf0) === 0x90) return arr(t & 0x0f);
    if ((t & 0xe0) === 0xa0) return td.decode(bytes(t & 0x1f));
    switch (t) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return bytes(uN(1));
      case 0xc5:
        return bytes(uN(2));
      case 0xc6:
        return bytes(uN(4));
      case 0xca: {
        need(4);
        const v = view.getFloat32(p);
        p += 4;
        return v;
      }
      case 0xcb: {
        need(8);
        const v = view.getFloat64(p);
        p += 8;
        return v;
      }
      case 0xcc:
        return uN(1);
      case 0xcd:
        return uN(2);
      case 0xce:
        return uN(4);
      case 0xcf:
        return uN(8);
      case 0xd0: {
        const v = uN(1);
        return v >= 128 ? v - 256 : v;
      }
      case 0xd1: {
        const v = uN(2);
        return v >= 32768 ? v - 65536 : v;
      }
      case 0xd2: {
        need(4);
        const v = view.getInt32(p);
        p += 4;
        return v;
      }
      case 0xd3: {
        need(8);
        const v = Number(view.getBigInt64(p));
        p += 8;
        return v;
      }
      case 0xd9:
        return td.decode(bytes(uN(1)));
      case 0xda:
        return td.decode(bytes(uN(2)));
      case 0xdb:
        return td.decode(bytes(uN(4)));
      case 0xdc:
        return arr(uN(2));
      case 0xdd:
        return arr(uN(4));
      case 0xde:
        return map(uN(2));
      case 0xdf:
        return map(uN(4));
      default:
        throw new Error(`msgpack: unsupported type byte 0x${t.toString(16)}`);
    }
  };
  const arr = (n: number): Mp[] => Array.from({ length: n }, () => r());
  const map = (n: number): { [k: string]: Mp } => {
    const o: { [k: string]: Mp } = {};
    for (let i = 0; i < n; i++) {
      const k = r();
      o[String(k)] = r();
    }
    return o;
  };
  const v = r();
  return [v, p];
}
