import type { Sampler } from '@opentelemetry/sdk-trace';
import type { Values } from '../config/table';

export function buildSampler(values: Values): Sampler {
  const t = require('@opentelemetry/sdk-trace') as typeof import('@opentelemetry/sdk-trace');
  const ratio = values.OTEL_TRACES_SAMPLER_ARG ?? 1;
  switch (values.OTEL_TRACES_SAMPLER) {
    case 'always_on':
      return new t.AlwaysOnSampler();
    case 'always_off':
      return new t.AlwaysOffSampler();
    case 'traceidratio':
      return new t.TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new t.ParentBasedSampler({ root: new t.AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new t.ParentBasedSampler({ root: new t.TraceIdRatioBasedSampler(ratio) });
    case 'parentbased_always_on':
      return new t.ParentBasedSampler({ root: new t.AlwaysOnSampler() });
  }
}
