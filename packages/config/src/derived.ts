/** Values derived from raw variables, computed once so every service agrees on them. */

export const PROVIDER_IDS = ['provider1', 'provider2', 'provider3'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

export interface ProviderSettings {
  id: ProviderId;
  url: string;
  /** Most requests in any 1-second interval. */
  ratePerSecond: number;
  weight: number;
}

interface ProviderEnv {
  PROVIDER1_URL: string;
  PROVIDER2_URL: string;
  PROVIDER3_URL: string;
  PROVIDER_RATE_LIMIT: number;
  PROVIDER1_RATE_LIMIT?: number;
  PROVIDER2_RATE_LIMIT?: number;
  PROVIDER3_RATE_LIMIT?: number;
  PROVIDER_WEIGHTS: string;
}

export function providerSettings(env: ProviderEnv): ProviderSettings[] {
  const weights = env.PROVIDER_WEIGHTS.split(',').map((w) => Number(w.trim()));
  const urls = [env.PROVIDER1_URL, env.PROVIDER2_URL, env.PROVIDER3_URL];
  const limits = [env.PROVIDER1_RATE_LIMIT, env.PROVIDER2_RATE_LIMIT, env.PROVIDER3_RATE_LIMIT];
  return PROVIDER_IDS.map((id, i) => ({
    id,
    url: urls[i],
    ratePerSecond: limits[i] ?? env.PROVIDER_RATE_LIMIT,
    weight: weights[i],
  }));
}

/** Accepts Prisma's `file:` form and the original's `sqlite:///` form; returns a filesystem path. */
export function sqlitePath(databaseUrl: string): string {
  if (databaseUrl.startsWith('file:')) return databaseUrl.slice('file:'.length);
  if (databaseUrl.startsWith('sqlite:///')) return databaseUrl.slice('sqlite:///'.length);
  return databaseUrl;
}

export function logLevel(env: { DEBUG: boolean; LOG_LEVEL?: string }): string {
  return env.LOG_LEVEL ?? (env.DEBUG ? 'debug' : 'info');
}
