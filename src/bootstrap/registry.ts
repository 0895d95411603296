import { isObject, type Json } from './tree';

const DEFAULT_REGISTRY = 'https://registry.npmjs.org/';

/**
 * The registry to ask: --registry, else the one npm passes to the scripts and `npx` it runs
 * (npm_config_registry), else the public one.
 */
export function registryUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const url = flag ?? env.npm_config_registry ?? env.NPM_CONFIG_REGISTRY ?? DEFAULT_REGISTRY;
  return url.endsWith('/') ? url : `${url}/`;
}

/**
 * A package's metadata for every version, in the abbreviated form package managers use
 * (dependencies and peerDependencies per version, no readmes). Bounded by `timeoutMs`.
 */
export async function fetchPackument(name: string, registry: string, timeoutMs: number): Promise<Json> {
  const url = `${registry}${name.replace('/', '%2f')}`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8' }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new Error(`registry ${registry} could not be reached for ${name} (${why})`);
  }
  if (!res.ok) throw new Error(`registry ${registry} answered ${res.status} for ${name}`);
  const body: unknown = await res.json().catch(() => undefined);
  if (!isObject(body) || !isObject(body.versions)) throw new Error(`registry ${registry} sent no version list for ${name}`);
  return body;
}
