import { ByteBuffer } from './byte-buffer';

/** Lower-case hex digits, as JSON.stringify writes \u escapes. */
const HEX = '0123456789abcdef';
/** Past this length a string is escaped by JSON.stringify and encoded natively. */
const LONG_STRING = 64;

/**
 * JSON text written as UTF-8 straight into one growing Buffer, strings escaped exactly as
 * JSON.stringify escapes them (so the text equals upstream's JSON.stringify output): no object
 * tree, no string concatenation to flatten.
 */
export class JsonWriter extends ByteBuffer {
  /** ASCII text as is (the JSON syntax around values, numbers). */
  raw(s: string): void {
    const n = s.length;
    this.room(n);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** A number as JSON.stringify writes it (non-finite numbers as null). */
  num(n: number): void {
    this.raw(Number.isFinite(n) ? String(n) : 'null');
  }

  /** A JSON string literal. */
  str(s: string): void {
    const n = s.length;
    if (n > LONG_STRING) {
      const json = JSON.stringify(s);
      const len = Buffer.byteLength(json, 'utf8');
      this.room(len);
      this.pos += this.buf.write(json, this.pos, len, 'utf8');
      return;
    }
    this.room(6 * n + 2);
    const b = this.buf;
    let p = this.pos;
    b[p++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        if (c >= 0x20 && c !== 0x22 && c !== 0x5c) {
          b[p++] = c;
          continue;
        }
        b[p++] = 0x5c;
        if (c === 0x22 || c === 0x5c) b[p++] = c;
        else if (c === 0x08) b[p++] = 0x62;
        else if (c === 0x09) b[p++] = 0x74;
        else if (c === 0x0a) b[p++] = 0x6e;
        else if (c === 0x0c) b[p++] = 0x66;
        else if (c === 0x0d) b[p++] = 0x72;
        else p = this.escape(p, c);
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
          // A lone surrogate: JSON.stringify writes it as a \u escape (well-formed JSON.stringify).
          b[p++] = 0x5c;
          p = this.escape(p, c);
        }
      }
    }
    b[p++] = 0x22;
    this.pos = p;
  }

  /** `u` and four lower-case hex digits, after the backslash already written at p - 1. */
  private escape(p: number, c: number): number {
    const b = this.buf;
    b[p++] = 0x75;
    b[p++] = HEX.charCodeAt((c >> 12) & 15);
    b[p++] = HEX.charCodeAt((c >> 8) & 15);
    b[p++] = HEX.charCodeAt((c >> 4) & 15);
    b[p++] = HEX.charCodeAt(c & 15);
    return p;
  }
}
