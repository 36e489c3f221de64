import type { ProviderId } from '@twillow/config';
import type { RateLimitSnapshot, DistributionStats } from '@twillow/rate-limit';
import type { HealthMonitor, ProviderReport } from '../health-monitor';
import type { RecentFailure } from '../recent-failures';

/** Job states the dashboard shows, in display order. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;
export type QueueCounts = Record<(typeof QUEUE_STATES)[number], number>;

export interface DashboardSources {
  monitor: Pick<HealthMonitor, 'replicaId' | 'isLeader' | 'reports' | 'recentFailures'>;
  /** The shared limiter's window counts (read-only; the monitor never reserves). */
  limiter: { snapshot(): Promise<RateLimitSnapshot>; distribution(): Promise<DistributionStats> };
  /** BullMQ job counts of the SMS queue. */
  queueCounts(): Promise<QueueCounts>;
  /** Failures listed, newest first. */
  failureLimit?: number;
  now?: () => number;
}

export interface DashboardProvider extends ProviderReport {
  /** Sends reserved at this provider in the limiter's current window (1 s + margin), against its limit. */
  rate: { count: number; limit: number; window_ms: number; backoff_ms: number; weight: number } | null;
  /** Outcomes of any kind per second, averaged over the health window. */
  outcomes_per_s: number;
  /** Share of sends since the last distribution reset (0..1). */
  share: number | null;
}

/** The body of GET /dashboard/data and of every server-sent event. */
export interface DashboardSnapshot {
  generated_at: number;
  replica: string;
  leader: boolean;
  providers: DashboardProvider[];
  global: { count: number; limit: number; window_ms: number } | null;
  queue: QueueCounts | null;
  failures: RecentFailure[];
  /** Sources that could not be read this time (e.g. `queue: Connection is closed.`); the rest is still shown. */
  problems: string[];
}

/** Gathers one dashboard snapshot; a source that fails leaves its part null and names itself in `problems`. */
export async function dashboardSnapshot(sources: DashboardSources): Promise<DashboardSnapshot> {
  const now = (sources.now ?? Date.now)();
  const [reports, rates, distribution, queue] = await Promise.allSettled([
    sources.monitor.reports(),
    sources.limiter.snapshot(),
    sources.limiter.distribution(),
    sources.queueCounts(),
  ]);
  const problems: string[] = [];
  const value = <T>(name: string, r: PromiseSettledResult<T>): T | null => {
    if (r.status === 'fulfilled') return r.value;
    problems.push(`${name}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
    return null;
  };
  const providerReports = value('health', reports) ?? [];
  const snapshot = value('rate limits', rates);
  const dist = value('distribution', distribution);
  return {
    generated_at: now,
    replica: sources.monitor.replicaId,
    leader: sources.monitor.isLeader(),
    providers: providerReports.map((r) => provider(r, snapshot, dist)),
    global: snapshot ? { count: snapshot.global.count, limit: snapshot.global.limit, window_ms: snapshot.windowMs } : null,
    queue: value('queue', queue),
    failures: sources.monitor.recentFailures(sources.failureLimit ?? 25),
    problems,
  };
}

function provider(r: ProviderReport, snapshot: RateLimitSnapshot | null, dist: DistributionStats | null): DashboardProvider {
  const p = snapshot?.providers[r.provider as ProviderId];
  const outcomes = Object.values(r.window.counts).reduce((a, b) => a + b, 0);
  return {
    ...r,
    rate: p ? { count: p.count, limit: p.limit, window_ms: snapshot!.windowMs, backoff_ms: Math.max(0, p.backoffMs), weight: p.weight } : null,
    outcomes_per_s: Number(((outcomes * 1000) / r.window.window_ms).toFixed(2)),
    share: dist && dist.total > 0 ? Number((dist.shares[r.provider] ?? 0).toFixed(4)) : null,
  };
}
