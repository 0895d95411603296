import type { IMetricReader } from '@opentelemetry/sdk-metrics';
import type { Values } from '../config/table';
import { errorText, type Logger } from '../log';
import { markOwnServer } from './own-servers';

/**
 * The Prometheus exporter is a reader; the scrape endpoint is our own HTTP server, started when
 * the metrics SDK is built. Ours rather than the exporter's because the exporter's server unrefs
 * itself but not its connections, so a scraper's keep-alive connection kept the app from ever
 * exiting (test: runtime-metrics.test.mjs, whose app must exit while Prometheus scrapes it).
 * A port in use is one warning; the app and the other exporters go on.
 */
export function prometheusReader(v: Values, log: Logger, resourceSettled: () => Promise<void>, extraText?: () => string): IMetricReader[] {
  const host = v.OTEL_EXPORTER_PROMETHEUS_HOST ?? 'localhost';
  const port = v.OTEL_EXPORTER_PROMETHEUS_PORT ?? 9464;
  try {
    const p = require('@opentelemetry/exporter-prometheus') as typeof import('@opentelemetry/exporter-prometheus');
    const http = require('node:http') as typeof import('node:http');
    const server = http.createServer();
    markOwnServer(server);
    class Served extends p.PrometheusExporter {
      override async onShutdown(): Promise<void> {
        server.close();
        server.closeAllConnections();
        await super.onShutdown();
      }
    }
    const reader = new Served({ host, port, preventServerStart: true });
    // The exporter's own serializer settings (no prefix, no timestamps): what its handler would serve.
    const serializer = new p.PrometheusSerializer();
    server.on('request', (req, res) => {
      if ((req.url ?? '/').split('?')[0] !== '/metrics') {
        res.statusCode = 404;
        res.end('Not found; metrics are at /metrics\n');
        return;
      }
      // A scrape that came before the async resource detectors finished waits for them (the
      // serializer would otherwise log an error and serve an incomplete target_info). A failing
      // scrape answers 500; it must never become an unhandled rejection in the app.
      resourceSettled()
        .then(() => reader.collect())
        .then(({ resourceMetrics, errors }) => {
          if (errors.length > 0) log.debug(`Prometheus scrape: ${errors.map(errorText).join('; ')}`);
          // The serializer's output may end without a newline ("# no registered metrics").
          const otel = serializer.serialize(resourceMetrics);
          const body = otel + (otel === '' || otel.endsWith('\n') ? '' : '\n') + (extraText?.() ?? '');
          res.statusCode = 200;
          res.setHeader('content-type', 'text/plain; version=0.0.4; charset=utf-8');
          res.end(body);
        })
        .catch((err: unknown) => {
          log.debug(`Prometheus scrape: ${errorText(err)}`);
          if (!res.headersSent) res.statusCode = 500;
          res.end();
        });
    });
    server.on('connection', (socket) => socket.unref());
    server.on('error', (err) => log.warn(`Prometheus exporter could not listen on ${host}:${port} (${errorText(err)}); metrics are not served there`));
    server.listen(port, host).unref();
    return [reader];
  } catch (err) {
    log.warn(`Prometheus exporter could not be created (${errorText(err)}); metrics are not served`);
    return [];
  }
}
