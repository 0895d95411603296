import type { Attributes } from '@opentelemetry/api';
import { attrKey } from './fold';
import type { GaugePolicy } from './policy';
import { SKETCH_BUCKETS, type SummaryValue } from './sketch';
import type { Exemplar, HistValue, Kind, SnapMetric, SnapPoint, SnapScope, Snapshot } from './snapshot';

/**
 * One thread's metrics in a SharedArrayBuffer: written by that thread alone, read by the main
 * thread at collection. No locks: each value is a float64 whose bits are stored and loaded with
 * 64-bit Atomics (plain Float64Array accesses may tear under the JS memory model), and a new
 * series is published by storing the record count last. The buffer outlives its thread, so a
 * thread that ends (or is terminated) loses nothing it recorded.
 *
 * Layout: a header of Int32s, a directory of records (meta offset and length in the arena, first
 * cell and cell count), an arena of JSON metadata, and the cells. About 22 MiB of address space,
 * of which only the pages written are ever resident (the OS maps zero pages lazily).
 */
const MAGIC = 0x6f746d70; // "otmp"
const H_MAGIC = 0;
const H_RECORDS = 1;
const H_CLOSED = 2;
const H_FULL = 3;
const HEADER_BYTES = 64;
export const MAX_RECORDS = 65536;
const DIR_BYTES = MAX_RECORDS * 16;
const ARENA_BYTES = 4 * 1024 * 1024;
export const MAX_CELLS = 1 << 21;
const ARENA_AT = HEADER_BYTES + DIR_BYTES;
const CELLS_AT = ARENA_AT + ARENA_BYTES;
export const SHARD_BYTES = CELLS_AT + MAX_CELLS * 8;

/** An instrument's record: what the reader needs to name and shape its series. */
export interface InstrumentMeta {
  t: 'i';
  id: number;
  scope: { name: string; version?: string; schemaUrl?: string };
  name: string;
  description: string;
  unit: string;
  kind: Kind;
  int: boolean;
  bounds?: number[];
  policy?: GaugePolicy;
  /** A summary's quantiles, and its window: `slots` slices of `sliceMs` each (one slot, never rotated, without a window). */
  summary?: { percentiles: number[]; slots: number; sliceMs: number };
  /** Each series ends with an exemplar: EXEMPLAR_CELLS cells after the kind's own. */
  exemplar?: boolean;
  /** A drop-in metric not in the default registry: left out of the endpoint and of the default registry's listing. */
  hidden?: boolean;
}
interface SeriesMeta {
  t: 's';
  i: number;
  a: Attributes;
  start: number;
}

/**
 * A summary series: the cumulative count and sum, then per window slot its epoch (the slice
 * number it holds, -1 while being cleared), count, min, max, negative and zero counts, and sketch.
 * Counts (here and a histogram's buckets) are int64 cells (ShardWriter.count); the rest float64 bits.
 */
export const SLOT_HEADER = 6;
export const SLOT_CELLS = SLOT_HEADER + SKETCH_BUCKETS;

/** An exemplar: a sequence number (odd while being written), value, time (ms), trace id (two cells), span id. */
export const EXEMPLAR_CELLS = 6;

/** Cells of the kind's own: one value; a gauge adds when it was set; a histogram has its buckets, sum, min and max. */
export function valueCells(m: Pick<InstrumentMeta, 'kind' | 'bounds' | 'summary'>): number {
  if (m.kind === 'histogram') return (m.bounds?.length ?? 0) + 1 + 3;
  if (m.kind === 'summary') return 2 + (m.summary?.slots ?? 1) * SLOT_CELLS;
  return m.kind === 'gauge' ? 2 : 1;
}

export function cellCount(m: Pick<InstrumentMeta, 'kind' | 'bounds' | 'summary' | 'exemplar'>): number {
  return valueCells(m) + (m.exemplar === true ? EXEMPLAR_CELLS : 0);
}

/** Starting values other than 0: a histogram's min and max; each summary slot's epoch, min and max. */
export function initCells(m: InstrumentMeta, w: ShardWriter, first: number): void {
  if (m.kind === 'histogram') {
    const n = (m.bounds?.length ?? 0) + 1;
    w.set(first + n + 1, Infinity);
    w.set(first + n + 2, -Infinity);
  } else if (m.kind === 'summary') {
    const slots = m.summary?.slots ?? 1;
    for (let slot = 0; slot < slots; slot++) {
      const at = first + 2 + slot * SLOT_CELLS;
      w.set(at, m.summary !== undefined && m.summary.sliceMs > 0 ? -1 : 0);
      w.set(at + 2, Infinity);
      w.set(at + 3, -Infinity);
    }
  }
}

const hex = (b: bigint): string => BigInt.asUintN(64, b).toString(16).padStart(16, '0');

const enc = new TextEncoder();
const dec = new TextDecoder();

class Views {
  readonly hdr: Int32Array;
  readonly dir: Int32Array;
  readonly arena: Uint8Array;
  readonly cells: BigInt64Array;
  // Converts between a float64 and its bits without allocating a DataView per call.
  protected readonly f = new Float64Array(1);
  protected readonly b = new BigInt64Array(this.f.buffer);

  constructor(readonly sab: SharedArrayBuffer) {
    this.hdr = new Int32Array(sab, 0, HEADER_BYTES / 4);
    this.dir = new Int32Array(sab, HEADER_BYTES, DIR_BYTES / 4);
    this.arena = new Uint8Array(sab, ARENA_AT, ARENA_BYTES);
    this.cells = new BigInt64Array(sab, CELLS_AT, MAX_CELLS);
  }
}

export class ShardWriter extends Views {
  private records = 0;
  private arenaUsed = 0;
  private cellsUsed = 0;
  /** This thread's own copy of every cell: the writer never reads shared memory back. */
  private readonly local = new Float64Array(MAX_CELLS);
  /** Set once the shard has no room for a new series; the caller warns once. */
  full = false;

  constructor() {
    super(new SharedArrayBuffer(SHARD_BYTES));
    Atomics.store(this.hdr, H_MAGIC, MAGIC);
  }

  /**
   * Publishes a record; returns its first cell, or -1 when the shard is full. `init` gives cells
   * a starting value other than 0 (a histogram's min and max).
   */
  addRecord(meta: InstrumentMeta | SeriesMeta, cells: number, init?: (cell: number) => void): number {
    // Full stays full: no encoding work for each refused series.
    if (this.full) return -1;
    const bytes = enc.encode(JSON.stringify(meta));
    if (this.records >= MAX_RECORDS || this.arenaUsed + bytes.length > ARENA_BYTES || this.cellsUsed + cells > MAX_CELLS) {
      this.full = true;
      Atomics.store(this.hdr, H_FULL, 1);
      return -1;
    }
    this.arena.set(bytes, this.arenaUsed);
    const first = this.cellsUsed;
    const r = this.records * 4;
    this.dir[r] = this.arenaUsed;
    this.dir[r + 1] = bytes.length;
    this.dir[r + 2] = first;
    this.dir[r + 3] = cells;
    this.arenaUsed += bytes.length;
    this.cellsUsed += cells;
    init?.(first);
    this.records += 1;
    // The release: everything written above is visible to a reader that loads this count.
    Atomics.store(this.hdr, H_RECORDS, this.records);
    return first;
  }

  add(cell: number, v: number): void {
    const x = this.local[cell]! + v;
    this.local[cell] = x;
    this.f[0] = x;
    Atomics.store(this.cells, cell, this.b[0]!);
  }

  /**
   * Adds 1 to a cell that holds an integer count (a histogram bucket, a summary's counts): the
   * constant 1n allocates nothing, which makes it about twice as fast as a float add.
   */
  count(cell: number): void {
    Atomics.add(this.cells, cell, 1n);
  }

  /** Sets a count cell back to 0. */
  zeroCount(cell: number): void {
    Atomics.store(this.cells, cell, 0n);
  }

  countAt(cell: number): number {
    return Number(Atomics.load(this.cells, cell));
  }

  set(cell: number, v: number): void {
    this.local[cell] = v;
    this.f[0] = v;
    Atomics.store(this.cells, cell, this.b[0]!);
  }

  get(cell: number): number {
    return this.local[cell]!;
  }

  /** Raw 64 bits (an exemplar's trace and span ids), not a float. */
  setBits(cell: number, bits: bigint): void {
    Atomics.store(this.cells, cell, bits);
  }

  /** The thread is ending: the reader folds this shard for good and lets it go. */
  close(): void {
    Atomics.store(this.hdr, H_CLOSED, 1);
  }
}

interface Series {
  inst: InstrumentMeta;
  /** attrKey(attrs), made once when the series is first read. */
  k: string;
  /** The instrument's flag cell: 1 when a newer instrument of its name replaced it. */
  flag: number;
  attrs: Attributes;
  start: number;
  cell: number;
}

export class ShardReader extends Views {
  private parsed = 0;
  private readonly instruments = new Map<number, { meta: InstrumentMeta; flag: number }>();
  private readonly series: Series[] = [];

  constructor(
    sab: SharedArrayBuffer,
    readonly source: { source: string; pid: number; thread: number },
  ) {
    super(sab);
  }

  /** Built by a writer of this layout (a message on our channel could carry anything). */
  valid(): boolean {
    return this.sab.byteLength === SHARD_BYTES && Atomics.load(this.hdr, H_MAGIC) === MAGIC;
  }

  closed(): boolean {
    return Atomics.load(this.hdr, H_CLOSED) === 1;
  }

  full(): boolean {
    return Atomics.load(this.hdr, H_FULL) === 1;
  }

  private bits(cell: number): bigint {
    return Atomics.load(this.cells, cell);
  }

  private readCount(cell: number): number {
    return Number(Atomics.load(this.cells, cell));
  }

  private read(cell: number): number {
    this.b[0] = Atomics.load(this.cells, cell);
    return this.f[0]!;
  }

  private parseNew(): void {
    const n = Atomics.load(this.hdr, H_RECORDS);
    for (; this.parsed < n; this.parsed++) {
      const r = this.parsed * 4;
      // The arena is shared memory: copy out before decoding.
      const meta = JSON.parse(dec.decode(this.arena.slice(this.dir[r]!, this.dir[r]! + this.dir[r + 1]!))) as InstrumentMeta | SeriesMeta;
      if (meta.t === 'i') this.instruments.set(meta.id, { meta, flag: this.dir[r + 2]! });
      else {
        const inst = this.instruments.get(meta.i);
        if (inst !== undefined) this.series.push({ inst: inst.meta, flag: inst.flag, k: attrKey(meta.a), attrs: meta.a, start: meta.start, cell: this.dir[r + 2]! });
      }
    }
  }

  /** Everything this thread recorded so far, cumulative. */
  snapshot(now = Date.now()): Snapshot {
    this.parseNew();
    const scopes = new Map<string, SnapScope>();
    const metrics = new Map<InstrumentMeta, SnapMetric>();
    for (const s of this.series) {
      if (this.read(s.flag) !== 0) continue;
      let m = metrics.get(s.inst);
      if (m === undefined) {
        const i = s.inst;
        const sk = `${i.scope.name}\u0000${i.scope.version ?? ''}\u0000${i.scope.schemaUrl ?? ''}`;
        let sc = scopes.get(sk);
        if (sc === undefined) {
          sc = { ...i.scope, metrics: [] };
          scopes.set(sk, sc);
        }
        m = { name: i.name, description: i.description, unit: i.unit, kind: i.kind, int: i.int, ...(i.policy ? { policy: i.policy } : {}), ...(i.summary ? { percentiles: i.summary.percentiles } : {}), ...(i.hidden ? { hidden: true } : {}), points: [] };
        sc.metrics.push(m);
        metrics.set(s.inst, m);
      }
      const p = this.point(s, now);
      // A gauge series is published before its first value is written: not yet a point.
      if (s.inst.kind === 'gauge' && p.time === 0) continue;
      p.k = s.k;
      if (s.inst.exemplar === true) {
        const e = this.exemplar(s.cell + valueCells(s.inst));
        if (e !== undefined) p.exemplar = e;
      }
      m.points.push(p);
    }
    return { ...this.source, scopes: [...scopes.values()] };
  }

  private point(s: Series, now: number): SnapPoint {
    const { kind, bounds = [] } = s.inst;
    if (kind === 'summary') return { attrs: s.attrs, start: s.start, time: now, value: this.summary(s, now) };
    if (kind === 'gauge') return { attrs: s.attrs, start: s.start, time: this.read(s.cell + 1), value: this.read(s.cell) };
    if (kind !== 'histogram') return { attrs: s.attrs, start: s.start, time: now, value: this.read(s.cell) };
    const n = bounds.length + 1;
    const counts: number[] = [];
    for (let i = 0; i < n; i++) counts.push(this.readCount(s.cell + i));
    const min = this.read(s.cell + n + 1);
    const max = this.read(s.cell + n + 2);
    const value: HistValue = { bounds, counts, sum: this.read(s.cell + n), min: Number.isFinite(min) ? min : null, max: Number.isFinite(max) ? max : null };
    return { attrs: s.attrs, start: s.start, time: now, value };
  }

  /** The series' last exemplar, unless none was written or it is being written now. */
  private exemplar(at: number): Exemplar | undefined {
    const seq = this.read(at);
    if (seq === 0 || seq % 2 === 1) return undefined;
    const e = { value: this.read(at + 1), time: this.read(at + 2), trace: hex(this.bits(at + 3)) + hex(this.bits(at + 4)), span: hex(this.bits(at + 5)) };
    return this.read(at) === seq ? e : undefined;
  }

  /** The slots still inside the window, merged; a slot being rotated while read is skipped. */
  private summary(s: Series, now: number): SummaryValue {
    const w = s.inst.summary ?? { percentiles: [], slots: 1, sliceMs: 0 };
    const out: SummaryValue = { count: this.readCount(s.cell), sum: this.read(s.cell + 1), wcount: 0, min: null, max: null, neg: 0, zero: 0, buckets: {} };
    const epochNow = w.sliceMs > 0 ? Math.floor(now / w.sliceMs) : 0;
    for (let slot = 0; slot < w.slots; slot++) {
      const at = s.cell + 2 + slot * SLOT_CELLS;
      const epoch = this.read(at);
      if (epoch < 0 || (w.sliceMs > 0 && epoch <= epochNow - w.slots)) continue;
      const count = this.readCount(at + 1);
      if (count === 0) continue;
      const part: SummaryValue = { count: 0, sum: 0, wcount: count, min: this.read(at + 2), max: this.read(at + 3), neg: this.readCount(at + 4), zero: this.readCount(at + 5), buckets: {} };
      for (let b = 0; b < SKETCH_BUCKETS; b++) {
        const n = this.readCount(at + SLOT_HEADER + b);
        if (n !== 0) part.buckets[b] = n;
      }
      if (this.read(at) !== epoch) continue;
      out.wcount += part.wcount;
      out.min = out.min === null ? part.min : Math.min(out.min, part.min!);
      out.max = out.max === null ? part.max : Math.max(out.max, part.max!);
      out.neg += part.neg;
      out.zero += part.zero;
      for (const [k, n] of Object.entries(part.buckets)) out.buckets[k] = (out.buckets[k] ?? 0) + n;
    }
    return out;
  }
}
