import type { Resource, ResourceDetector } from '@opentelemetry/resources';
import { basename } from 'node:path';
import type { Values } from '../config/table';

/**
 * Only detectors that read this machine run. Cloud detectors (aws, gcp, azure, alibaba) probe
 * metadata addresses off the machine at every start, so they are not offered at all. The env
 * detector is ours: the attributes come from the config table, not from a second env read.
 */
export function buildResource(values: Values, extra: Readonly<Record<string, string | number | boolean>> = {}): Resource {
  const r = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const chosen = new Set(values.OTEL_NODE_RESOURCE_DETECTORS);
  const all = chosen.has('all') && !chosen.has('none');
  const want = (n: string): boolean => all || (chosen.has(n) && !chosen.has('none'));
  const detectors: ResourceDetector[] = [];
  if (want('host')) detectors.push(r.hostDetector);
  if (want('os')) detectors.push(r.osDetector);
  if (want('process')) detectors.push(r.processDetector);
  if (want('serviceinstance')) detectors.push(r.serviceInstanceIdDetector);
  // Reads /proc/self/cgroup and /proc/self/mountinfo only.
  if (want('container')) detectors.push((require('@opentelemetry/resource-detector-container') as typeof import('@opentelemetry/resource-detector-container')).containerDetector);
  detectors.push(...cloudDetectors(values, chosen, all));
  // The spec's fallback is unknown_service:<executable name>; upstream uses process.argv0, which
  // can be a whole relative path.
  const fallback = r.resourceFromAttributes({ 'service.name': `unknown_service:${basename(process.execPath)}` });
  // Distro and configurator attributes sit under the user's own (env) ones.
  let resource = r.defaultResource().merge(fallback).merge(r.detectResources({ detectors })).merge(r.resourceFromAttributes(extra));
  if (want('env')) {
    const attrs: Record<string, string> = { ...values.OTEL_RESOURCE_ATTRIBUTES };
    if (values.OTEL_SERVICE_NAME !== undefined) attrs['service.name'] = values.OTEL_SERVICE_NAME;
    resource = resource.merge(r.resourceFromAttributes(attrs));
  }
  return resource;
}

/**
 * Cloud detectors. Named in OTEL_NODE_RESOURCE_DETECTORS: every detector of that cloud, metadata
 * calls included (the user asked). Under "all": only those that read nothing but the environment,
 * and only when the environment shows that cloud.
 */
function cloudDetectors(values: Values, chosen: ReadonlySet<string>, all: boolean): ResourceDetector[] {
  const out: ResourceDetector[] = [];
  const aws = (): typeof import('@opentelemetry/resource-detector-aws') => require('@opentelemetry/resource-detector-aws');
  const azure = (): typeof import('@opentelemetry/resource-detector-azure') => require('@opentelemetry/resource-detector-azure');
  if (chosen.has('aws')) {
    const a = aws();
    out.push(a.awsEc2Detector, a.awsEcsDetector, a.awsEksDetector, a.awsBeanstalkDetector, a.awsLambdaDetector);
  } else if (all && values.AWS_LAMBDA_FUNCTION_NAME !== undefined) out.push(aws().awsLambdaDetector);
  if (chosen.has('azure')) {
    const z = azure();
    out.push(z.azureAppServiceDetector, z.azureFunctionsDetector, z.azureVmDetector, z.azureAksDetector, z.azureContainerAppsDetector);
  } else if (all) {
    if (values.WEBSITE_SITE_NAME !== undefined) out.push(azure().azureAppServiceDetector);
    if (values.FUNCTIONS_WORKER_RUNTIME !== undefined) out.push(azure().azureFunctionsDetector);
  }
  if (chosen.has('gcp')) out.push((require('@opentelemetry/resource-detector-gcp') as typeof import('@opentelemetry/resource-detector-gcp')).gcpDetector);
  if (chosen.has('alibaba')) out.push((require('@opentelemetry/resource-detector-alibaba-cloud') as typeof import('@opentelemetry/resource-detector-alibaba-cloud')).alibabaCloudEcsDetector);
  return out;
}
