import type { Attributes } from '@opentelemetry/api';
import type { HistValue, Kind, SnapMetric, SnapPoint, SnapScope, Snapshot } from './snapshot';

/**
 * One thread's metrics in a SharedArrayBuffer: written by that thread alone, read by the main
 * thread at collection. No locks: each value is a float64 whose bits are stored and loaded with
 * 64-bit Atomics (plain Float64Array accesses may tear under the JS memory model), and a new
 * series is published by storing the record count last. The buffer outlives its thread, so a
 * thread that ends (or is terminated) loses nothing it recorded.
 *
 * Layout: a header of Int32s, a directory of records (meta offset and length in the arena, first
 * cell and cell count), an arena of JSON metadata, and the cells.
 */
const MAGIC = 0x6f746d70; // "otmp"
const H_MAGIC = 0;
const H_RECORDS = 1;
const H_CLOSED = 2;
const H_FULL = 3;
const HEADER_BYTES = 64;
export const MAX_RECORDS = 8192;
const DIR_BYTES = MAX_RECORDS * 16;
const ARENA_BYTES = 256 * 1024;
export const MAX_CELLS = 32768;
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
}
interface SeriesMeta {
  t: 's';
  i: number;
  a: Attributes;
  start: number;
}

/** Cells per series: one value; a gauge adds when it was set; a histogram has its buckets, sum, min and max. */
export function cellCount(m: Pick<InstrumentMeta, 'kind' | 'bounds'>): number {
  if (m.kind === 'histogram') return (m.bounds?.length ?? 0) + 1 + 3;
  return m.kind === 'gauge' ? 2 : 1;
}

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

  set(cell: number, v: number): void {
    this.local[cell] = v;
    this.f[0] = v;
    Atomics.store(this.cells, cell, this.b[0]!);
  }

  get(cell: number): number {
    return this.local[cell]!;
  }

  /** The thread is ending: the reader folds this shard for good and lets it go. */
  close(): void {
    Atomics.store(this.hdr, H_CLOSED, 1);
  }
}

interface Series {
  inst: InstrumentMeta;
  attrs: Attributes;
  start: number;
  cell: number;
}

export class ShardReader extends Views {
  private parsed = 0;
  private readonly instruments = new Map<number, InstrumentMeta>();
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
      if (meta.t === 'i') this.instruments.set(meta.id, meta);
      else {
        const inst = this.instruments.get(meta.i);
        if (inst !== undefined) this.series.push({ inst, attrs: meta.a, start: meta.start, cell: this.dir[r + 2]! });
      }
    }
  }

  /** Everything this thread recorded so far, cumulative. */
  snapshot(now = Date.now()): Snapshot {
    this.parseNew();
    const scopes = new Map<string, SnapScope>();
    const metrics = new Map<InstrumentMeta, SnapMetric>();
    for (const s of this.series) {
      let m = metrics.get(s.inst);
      if (m === undefined) {
        const i = s.inst;
        const sk = `${i.scope.name}\u0000${i.scope.version ?? ''}\u0000${i.scope.schemaUrl ?? ''}`;
        let sc = scopes.get(sk);
        if (sc === undefined) {
          sc = { ...i.scope, metrics: [] };
          scopes.set(sk, sc);
        }
        m = { name: i.name, description: i.description, unit: i.unit, kind: i.kind, int: i.int, points: [] };
        sc.metrics.push(m);
        metrics.set(s.inst, m);
      }
      m.points.push(this.point(s, now));
    }
    return { ...this.source, scopes: [...scopes.values()] };
  }

  private point(s: Series, now: number): SnapPoint {
    const { kind, bounds = [] } = s.inst;
    if (kind === 'gauge') return { attrs: s.attrs, start: s.start, time: this.read(s.cell + 1), value: this.read(s.cell) };
    if (kind !== 'histogram') return { attrs: s.attrs, start: s.start, time: now, value: this.read(s.cell) };
    const n = bounds.length + 1;
    const counts: number[] = [];
    for (let i = 0; i < n; i++) counts.push(this.read(s.cell + i));
    const min = this.read(s.cell + n + 1);
    const max = this.read(s.cell + n + 2);
    const value: HistValue = { bounds, counts, sum: this.read(s.cell + n), min: Number.isFinite(min) ? min : null, max: Number.isFinite(max) ? max : null };
    return { attrs: s.attrs, start: s.start, time: now, value };
  }
}
