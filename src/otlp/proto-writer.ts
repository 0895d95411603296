import type { HrTime } from '@opentelemetry/api';
import { ByteBuffer } from './byte-buffer';

/** A string this short (UTF-16 units) is at most 126 UTF-8 bytes: its length prefix is one byte. */
const SHORT_STRING = 42;

/** Hex digit value; any other character gives what upstream's hexToBinary gives (otlp-transformer 0.300). */
function hex(c: number): number {
  return c <= 57 ? c - 48 : c >= 97 ? c - 87 : c - 55;
}

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/**
 * Protobuf wire writing straight into one growing Buffer. A nested message reserves the bytes
 * its length will likely need (begin), and moves its body only when the length needs another
 * size (end): no size pre-pass over the spans and no per-field objects. Tags are passed
 * pre-computed ((field << 3) | wire type).
 */
export class ProtoWriter extends ByteBuffer {
  /** An unsigned 32-bit varint; callers make room. */
  private uvarint(v: number): void {
    const b = this.buf;
    let p = this.pos;
    while (v > 127) {
      b[p++] = (v & 127) | 128;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p;
  }

  tagVarint(tag: number, v: number): void {
    this.room(12);
    this.uvarint(tag);
    this.uvarint(v >>> 0);
  }

  /** int64 from a JS number in [-2^63, 2^63), two's complement as upstream writes it. */
  tagInt64(tag: number, value: number): void {
    this.room(16);
    this.uvarint(tag);
    if (value >= 0 && value <= 0xffffffff) {
      this.uvarint(value >>> 0);
      return;
    }
    const abs = Math.abs(value);
    let low = abs >>> 0;
    let high = (abs / 4294967296) >>> 0;
    if (value < 0) {
      low = ~low >>> 0;
      high = ~high >>> 0;
      low = (low + 1) >>> 0;
      if (low === 0) high = (high + 1) >>> 0;
    }
    const b = this.buf;
    let p = this.pos;
    while (high > 0 || low > 127) {
      b[p++] = (low & 127) | 128;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    b[p++] = low & 127;
    this.pos = p;
  }

  tagFixed32(tag: number, v: number): void {
    this.room(8);
    this.uvarint(tag);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  tagDouble(tag: number, v: number): void {
    this.room(10);
    this.uvarint(tag);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** HrTime as fixed64 nanoseconds, computed as upstream does (exact beyond 2^53). */
  tagTime(tag: number, t: HrTime): void {
    const seconds = t[0];
    const nanos = t[1];
    const lowSecondsNanos = (seconds & 0xffff) * 1e9;
    const highSecondsNanos = ((seconds / 0x10000) >>> 0) * 1e9;
    const low = (lowSecondsNanos >>> 0) + (((highSecondsNanos & 0xffff) * 0x10000) >>> 0) + nanos;
    const high = Math.floor(lowSecondsNanos / 4294967296) + ((highSecondsNanos / 0x10000) >>> 0) + Math.floor(low / 4294967296);
    this.room(10);
    this.uvarint(tag);
    const b = this.buf;
    b.writeUInt32LE(low >>> 0, this.pos);
    b.writeUInt32LE(high >>> 0, this.pos + 4);
    this.pos += 8;
  }

  /** A span or trace id: hex text written as its bytes. */
  tagId(tag: number, id: string): void {
    const n = id.length >>> 1;
    this.room(n + 10);
    this.uvarint(tag);
    this.uvarint(n);
    const b = this.buf;
    let p = this.pos;
    for (let j = 0; j < 2 * n; j += 2) b[p++] = (hex(id.charCodeAt(j)) << 4) | hex(id.charCodeAt(j + 1));
    this.pos = p;
  }

  tagBytes(tag: number, bytes: Uint8Array): void {
    this.room(bytes.length + 10);
    this.uvarint(tag);
    this.uvarint(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** UTF-8, lone surrogates as U+FFFD (what TextEncoder, hence upstream, writes). */
  tagString(tag: number, s: string): void {
    const n = s.length;
    if (n > SHORT_STRING) {
      const len = Buffer.byteLength(s, 'utf8');
      this.room(len + 10);
      this.uvarint(tag);
      this.uvarint(len);
      this.pos += this.buf.write(s, this.pos, len, 'utf8');
      return;
    }
    this.room(3 * n + 3);
    this.uvarint(tag);
    const b = this.buf;
    const at = this.pos;
    let p = at + 1;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        b[p++] = c;
      } else if (c < 0x800) {
        b[p++] = 0xc0 | (c >> 6);
        b[p++] = 0x80 | (c & 63);
      } else if (c < 0xd800 || c > 0xdfff) {
        b[p++] = 0xe0 | (c >> 12);
        b[p++] = 0x80 | ((c >> 6) & 63);
        b[p++] = 0x80 | (c & 63);
      } else {
        const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          b[p++] = 0xf0 | (cp >> 18);
          b[p++] = 0x80 | ((cp >> 12) & 63);
          b[p++] = 0x80 | ((cp >> 6) & 63);
          b[p++] = 0x80 | (cp & 63);
          i++;
        } else {
          b[p++] = 0xef;
          b[p++] = 0xbf;
          b[p++] = 0xbd;
        }
      }
    }
    b[at] = p - at - 1;
    this.pos = p;
  }

  /** Opens a nested message: its tag, then `reserve` bytes for its length. Returns where the body starts. */
  begin(tag: number, reserve: number): number {
    this.room(reserve + 5);
    this.uvarint(tag);
    this.pos += reserve;
    return this.pos;
  }

  /** Closes the message opened by begin(): its length goes in front, the body moves if that length needs another size. */
  end(body: number, reserve: number): void {
    const len = this.pos - body;
    const size = varintSize(len);
    if (size !== reserve) {
      this.room(size);
      this.buf.copyWithin(body - reserve + size, body, this.pos);
      this.pos += size - reserve;
    }
    const end = this.pos;
    this.pos = body - reserve;
    this.uvarint(len);
    this.pos = end;
  }
}
