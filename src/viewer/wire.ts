/**
 * A protobuf wire-format reader, just enough for the OTLP export requests: no schema, no
 * dependency. Each message is read as a walk over (field number, wire type, value) triples; the
 * decoders in otlp-*.ts pick the fields they know and skip the rest, as protobuf requires.
 */

export class WireError extends Error {}

/** Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. Groups (3, 4) are not OTLP. */
export type Field =
  | { readonly no: number; readonly type: 0; readonly value: bigint }
  | { readonly no: number; readonly type: 1; readonly bytes: Uint8Array }
  | { readonly no: number; readonly type: 2; readonly bytes: Uint8Array }
  | { readonly no: number; readonly type: 5; readonly bytes: Uint8Array };

const decoder = new TextDecoder('utf-8');

/** Every field of one message, in order; throws WireError on truncated or malformed input. */
export function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new WireError('truncated varint');
      const b = buf[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new WireError('varint too long');
    }
  };
  const take = (n: number): Uint8Array => {
    if (n < 0 || pos + n > buf.length) throw new WireError('truncated field');
    const out = buf.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const type = key & 7;
    if (no === 0) throw new WireError('field number 0');
    if (type === 0) yield { no, type, value: varint() };
    else if (type === 1) yield { no, type, bytes: take(8) };
    else if (type === 2) yield { no, type, bytes: take(Number(varint())) };
    else if (type === 5) yield { no, type, bytes: take(4) };
    else throw new WireError(`wire type ${type}`);
  }
}

export function str(f: Field): string {
  return f.type === 2 ? decoder.decode(f.bytes) : '';
}

export function hex(f: Field): string {
  return f.type === 2 ? Buffer.from(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength).toString('hex') : '';
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** fixed64 / sfixed64 as a JS number (exact up to 2^53, enough for counts and nanosecond times to ~0.25 us). */
export function fixed64(f: Field, signed = false): number {
  if (f.type !== 1) return f.type === 0 ? Number(f.value) : 0;
  const v = view(f.bytes);
  return Number(signed ? v.getBigInt64(0, true) : v.getBigUint64(0, true));
}

export function double(f: Field): number {
  return f.type === 1 ? view(f.bytes).getFloat64(0, true) : 0;
}

export function fixed32(f: Field): number {
  return f.type === 5 ? view(f.bytes).getUint32(0, true) : 0;
}

/** uint32/enum/bool varints. */
export function uint(f: Field): number {
  return f.type === 0 ? Number(BigInt.asUintN(32, f.value)) : 0;
}

/** int64 varints (two's complement, so negatives take ten bytes). */
export function int64(f: Field): number {
  return f.type === 0 ? Number(BigInt.asIntN(64, f.value)) : 0;
}

/** Packed or unpacked repeated fixed64 / double. */
export function packed64(f: Field, read: (v: DataView, at: number) => number): number[] {
  if (f.type === 1) return [read(view(f.bytes), 0)];
  if (f.type !== 2 || f.bytes.length % 8 !== 0) throw new WireError('bad packed field');
  const v = view(f.bytes);
  const out: number[] = [];
  for (let at = 0; at < f.bytes.length; at += 8) out.push(read(v, at));
  return out;
}

export const readU64 = (v: DataView, at: number): number => Number(v.getBigUint64(at, true));
export const readF64 = (v: DataView, at: number): number => v.getFloat64(at, true);
