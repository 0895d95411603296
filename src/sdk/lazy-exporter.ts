import type { ExportResult } from '@opentelemetry/core';
import type { Logger } from '../log';
import { errorText } from '../log';

/** What span, metric and log record exporters have in common. */
export interface Exporter<I> {
  export(items: I, done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}

// ExportResultCode.FAILED, without loading @opentelemetry/core for one constant.
const FAILED = 1;

/**
 * Stands in for an exporter until its first export: the OTLP exporter packages are the largest
 * part of an SDK's startup (270-380 files each), and an app that exits before exporting
 * anything never needs them. A factory that throws costs one warning and its telemetry, not the app.
 */
export class LazyExporter<I> implements Exporter<I> {
  private real: Exporter<I> | undefined;
  private failed = false;

  constructor(
    private readonly label: string,
    private readonly make: () => Exporter<I>,
    private readonly log: Logger,
  ) {}

  get loaded(): boolean {
    return this.real !== undefined;
  }

  private get(): Exporter<I> | undefined {
    if (this.real === undefined && !this.failed) {
      try {
        this.real = this.make();
      } catch (err) {
        this.failed = true;
        this.log.warn(`${this.label}: could not be created (${errorText(err)}); its telemetry is dropped`);
      }
    }
    return this.real;
  }

  export(items: I, done: (result: ExportResult) => void): void {
    const real = this.get();
    if (real === undefined) {
      done({ code: FAILED });
      return;
    }
    real.export(items, done);
  }

  shutdown(): Promise<void> {
    return this.real ? this.real.shutdown() : Promise.resolve();
  }

  forceFlush(): Promise<void> {
    return this.real?.forceFlush ? this.real.forceFlush() : Promise.resolve();
  }
}
