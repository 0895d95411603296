import { randomFillSync } from 'node:crypto';

/**
 * Trace and span ids from a pool of random bytes, refilled by one randomFillSync when used up:
 * one native call per 512 span ids instead of upstream's per-id Math.random() and Buffer writes.
 * Spans are started on one thread at a time, so a module-level pool needs no locking.
 */
const POOL = 4096;
const pool = Buffer.allocUnsafe(POOL);
let next = POOL;

function take(n: number): number {
  if (next + n > POOL) {
    randomFillSync(pool);
    next = 0;
  }
  const at = next;
  next += n;
  // An all-zero id is invalid (W3C trace context): made non-zero, as upstream does.
  for (let i = at; i < at + n; i++) if (pool[i] !== 0) return at;
  pool[at + n - 1] = 1;
  return at;
}

/** 16 random bytes as 32 lowercase hex characters, never all zeros. */
export function traceId(): string {
  const at = take(16);
  return pool.toString('hex', at, at + 16);
}

/** 8 random bytes as 16 lowercase hex characters, never all zeros. */
export function spanId(): string {
  const at = take(8);
  return pool.toString('hex', at, at + 8);
}
