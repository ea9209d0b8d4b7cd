// A minimal MessagePack codec: what FXServer does to every value that crosses a resource or
// runtime boundary (exports, events). Encodes nil/bool/int/float/str/array/map (functions and
// undefined become nil); decodes every fixed-size form, strings as UTF-8 (bytes that are not
// UTF-8 become U+FFFD, as in FXServer's JS runtime), maps to plain objects.
'use strict';

function encode(value) {
  const chunks = [];
  const push = (buf) => chunks.push(buf);
  const head = (type, n, size) => {
    const b = Buffer.alloc(1 + size);
    b[0] = type;
    if (size === 4) b.writeUInt32BE(n, 1);
    return b;
  };
  (function enc(v) {
    if (v === null || v === undefined || typeof v === 'function') return push(Buffer.from([0xc0]));
    if (v === false) return push(Buffer.from([0xc2]));
    if (v === true) return push(Buffer.from([0xc3]));
    if (typeof v === 'number') {
      const b = Buffer.alloc(9);
      if (Number.isSafeInteger(v)) {
        b[0] = 0xd3;
        b.writeBigInt64BE(BigInt(v), 1);
      } else {
        b[0] = 0xcb;
        b.writeDoubleBE(v, 1);
      }
      return push(b);
    }
    if (typeof v === 'bigint') {
      const b = Buffer.alloc(9);
      b[0] = 0xd3;
      b.writeBigInt64BE(v, 1);
      return push(b);
    }
    if (typeof v === 'string') {
      const s = Buffer.from(v, 'utf8');
      push(head(0xdb, s.length, 4));
      return push(s);
    }
    if (Buffer.isBuffer(v) || v instanceof Uint8Array) {
      push(head(0xc6, v.length, 4));
      return push(Buffer.from(v));
    }
    if (Array.isArray(v)) {
      push(head(0xdd, v.length, 4));
      return v.forEach(enc);
    }
    if (typeof v === 'object') {
      const keys = Object.keys(v);
      push(head(0xdf, keys.length, 4));
      for (const k of keys) {
        enc(k);
        enc(v[k]);
      }
      return undefined;
    }
    throw new Error(`cannot pack ${typeof v}`);
  })(value);
  return Buffer.concat(chunks);
}

function decode(buf) {
  let at = 0;
  const td = new TextDecoder('utf-8');
  const str = (n) => {
    const s = td.decode(buf.subarray(at, at + n));
    at += n;
    return s;
  };
  function dec() {
    const t = buf[at++];
    if (t <= 0x7f) return t;
    if (t >= 0xe0) return t - 0x100;
    if ((t & 0xe0) === 0xa0) return str(t & 0x1f);
    if ((t & 0xf0) === 0x90) return arr(t & 0x0f);
    if ((t & 0xf0) === 0x80) return map(t & 0x0f);
    switch (t) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xcc:
        return buf[at++];
      case 0xcd:
        at += 2;
        return buf.readUInt16BE(at - 2);
      case 0xce:
        at += 4;
        return buf.readUInt32BE(at - 4);
      case 0xcf:
        at += 8;
        return Number(buf.readBigUInt64BE(at - 8));
      case 0xd0:
        at += 1;
        return buf.readInt8(at - 1);
      case 0xd1:
        at += 2;
        return buf.readInt16BE(at - 2);
      case 0xd2:
        at += 4;
        return buf.readInt32BE(at - 4);
      case 0xd3:
        at += 8;
        return Number(buf.readBigInt64BE(at - 8));
      case 0xca:
        at += 4;
        return buf.readFloatBE(at - 4);
      case 0xcb:
        at += 8;
        return buf.readDoubleBE(at - 8);
      case 0xd9: {
        const n = buf[at];
        at += 1;
        return str(n);
      }
      case 0xda: {
        const n = buf.readUInt16BE(at);
        at += 2;
        return str(n);
      }
      case 0xdb: {
        const n = buf.readUInt32BE(at);
        at += 4;
        return str(n);
      }
      case 0xc4: {
        const n = buf[at];
        at += 1;
        at += n;
        return Buffer.from(buf.subarray(at - n, at));
      }
      case 0xc6: {
        const n = buf.readUInt32BE(at);
        at += 4;
        at += n;
        return Buffer.from(buf.subarray(at - n, at));
      }
      case 0xdc: {
        const n = buf.readUInt16BE(at);
        at += 2;
        return arr(n);
      }
      case 0xdd: {
        const n = buf.readUInt32BE(at);
        at += 4;
        return arr(n);
      }
      case 0xde: {
        const n = buf.readUInt16BE(at);
        at += 2;
        return map(n);
      }
      case 0xdf: {
        const n = buf.readUInt32BE(at);
        at += 4;
        return map(n);
      }
      default:
        throw new Error(`msgpack type 0x${t.toString(16)} not handled`);
    }
  }
  function arr(n) {
    const a = [];
    for (let i = 0; i < n; i++) a.push(dec());
    return a;
  }
  function map(n) {
    const o = {};
    for (let i = 0; i < n; i++) {
      const k = dec();
      o[String(k)] = dec();
    }
    return o;
  }
  return dec();
}

/** A value as it arrives on the other side of a boundary. */
function copy(value) {
  return decode(encode(value));
}

module.exports = { encode, decode, copy };
