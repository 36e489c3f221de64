import type Redis from 'ioredis';
import {
  outcomeEventSchema,
  providerHealthStateSchema,
  type AvailabilityEvent,
  type AvailabilityState,
  type ProviderHealthState,
} from '@twillow/contracts';
import type { ProviderId } from '@twillow/config';
import type { Logger } from '@twillow/logger';
import { healthCommandSchema, type RedisKeys } from '@twillow/redis';
import type { HealthMonitorSettings } from './config';
import { evaluate, initialStatus, reset, type Decision, type ProviderStatus } from './health.policy';
import { OutcomeWindow, type KindCounts } from './outcome-window';
import { RecentFailures, type RecentFailure } from './recent-failures';

export interface HealthMonitorDeps {
  /** Commands (lease, hash, publish, probe tokens). */
  redis: Redis;
  /** Dedicated connection for XREAD BLOCK; the monitor cuts it on stop to end a pending read. */
  blocking: Redis;
  /** Dedicated connection subscribed to the command channel. */
  subscriber: Redis;
  keys: RedisKeys;
  settings: HealthMonitorSettings;
  logger: Logger;
  /** Names this replica in the leader lease. */
  replicaId: string;
  now?: () => number;
}

/** One provider as the status page shows it. */
export interface ProviderReport {
  provider: ProviderId;
  state: AvailabilityState;
  since: number;
  reason: string;
  /** Cooldown of the current (or next) unavailable period, ms. */
  cooldown_ms: number;
  /** Probe tokens left in Redis while probing, else 0. */
  probes_remaining: number;
  /** Epoch ms when the stored state was last written, if any is stored. */
  updated_at: number | null;
  window: {
    window_ms: number;
    counts: KindCounts;
    successes: number;
    failures: number;
    samples: number;
    min_samples: number;
    failure_ratio: number;
    failure_threshold: number;
  };
  /** Latency of successful sends in the window, ms. */
  latency_ms: { p50: number | null; p95: number | null };
}

// Compare-and-extend and compare-and-delete: a replica only touches the lease while it holds it.
const RENEW_LEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE_LEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/**
 * Consumes the outcome stream into a sliding window per provider and, on the replica holding the
 * leader lease, runs the availability policy and writes every transition (hash + channel + probe
 * tokens). Followers keep their windows warm and mirror the stored states, so a takeover neither
 * starts cold nor contradicts the previous leader.
 */
export class HealthMonitor {
  private readonly windows = new Map<ProviderId, OutcomeWindow>();
  private readonly statuses = new Map<ProviderId, ProviderStatus>();
  private readonly updatedAt = new Map<ProviderId, number>();
  private readonly failures = new RecentFailures(50);
  private readonly now: () => number;
  private lastId = '0-0';
  private leader = false;
  /** The lease is trusted until this epoch ms (start of the last successful renewal + lease - margin). */
  private leaseValidUntil = 0;
  private stopping = false;
  private started = false;
  private readLoopDone?: Promise<void>;
  private timers: NodeJS.Timeout[] = [];
  private chain: Promise<void> = Promise.resolve();
  private evalQueued = false;
  private readonly scheduled = new Set<string>();
  private lastRefresh = 0;
  private lastAnnounce = 0;
  private lastWarn = 0;
  private stopped?: Promise<void>;

  constructor(private readonly deps: HealthMonitorDeps) {
    this.now = deps.now ?? Date.now;
    for (const p of deps.settings.providers) {
      this.windows.set(p, new OutcomeWindow(deps.settings.windowMs));
      this.statuses.set(p, initialStatus(p, this.now(), deps.settings));
    }
  }

  /**
   * Rebuilds the windows from the last windowMs of the stream, mirrors the stored states, then
   * follows the stream, the command channel, the lease and the evaluation timer.
   */
  async start(): Promise<void> {
    if (this.started) throw new Error('HealthMonitor already started');
    this.started = true;
    const { subscriber, keys, settings } = this.deps;
    await this.rebuild();
    await this.syncFromStore();
    subscriber.on('message', (channel: string, raw: string) => {
      if (channel === keys.healthCommands) this.onCommand(raw);
    });
    await subscriber.subscribe(keys.healthCommands);
    this.readLoopDone = this.readLoop();
    await this.serial(() => this.leaseTick());
    this.timers.push(setInterval(() => this.schedule('lease', () => this.leaseTick()), Math.max(50, Math.floor(settings.leaseMs / 3))));
    this.timers.push(setInterval(() => this.schedule('tick', () => this.tick()), settings.evalIntervalMs));
  }

  /** Stops the loops, waits for work in progress and releases the lease if still ours. Idempotent. */
  stop(): Promise<void> {
    return (this.stopped ??= this.doStop());
  }

  isLeader(): boolean {
    return this.canWrite();
  }

  get replicaId(): string {
    return this.deps.replicaId;
  }

  /** Operator reset. On the leader it is applied at once and the new state returned; else undefined. */
  async reset(provider: ProviderId): Promise<ProviderHealthState | undefined> {
    let result: ProviderHealthState | undefined;
    await this.serial(async () => {
      if (!this.canWrite()) return;
      const status = this.statuses.get(provider);
      if (!status) return;
      result = await this.commit(reset(status, this.now(), this.deps.settings));
    });
    return result;
  }

  async report(provider: ProviderId): Promise<ProviderReport | undefined> {
    const status = this.statuses.get(provider);
    const window = this.windows.get(provider);
    if (!status || !window) return undefined;
    const { settings } = this.deps;
    const now = this.now();
    const w = window.summary(now);
    const probes = status.state === 'probing' ? await this.probeTokensLeft(provider) : 0;
    return {
      provider,
      state: status.state,
      since: status.since,
      reason: status.reason,
      cooldown_ms: status.cooldownMs,
      probes_remaining: probes,
      updated_at: this.updatedAt.get(provider) ?? null,
      window: {
        window_ms: w.windowMs,
        counts: w.counts,
        successes: w.successes,
        failures: w.failures,
        samples: w.samples,
        min_samples: settings.minSamples,
        failure_ratio: Number(w.failureRatio.toFixed(4)),
        failure_threshold: settings.failureThreshold,
      },
      latency_ms: window.latency(now),
    };
  }

  /** The last non-success outcomes this replica read from the stream, newest first. */
  recentFailures(limit?: number): RecentFailure[] {
    return this.failures.list(limit);
  }

  async reports(): Promise<ProviderReport[]> {
    const out: ProviderReport[] = [];
    for (const p of this.deps.settings.providers) {
      const r = await this.report(p);
      if (r) out.push(r);
    }
    return out;
  }

  // --- stream ---------------------------------------------------------------------------------

  private async rebuild(): Promise<void> {
    const { redis, keys, settings } = this.deps;
    const from = Math.max(0, this.now() - settings.windowMs);
    let start = `${from}-0`;
    this.lastId = `${from}-0`;
    for (;;) {
      const entries = await redis.xrange(keys.outcomeStream, start, '+', 'COUNT', settings.readBatch);
      this.ingest(entries);
      if (entries.length < settings.readBatch) break;
      start = `(${entries[entries.length - 1][0]}`;
    }
  }

  private async readLoop(): Promise<void> {
    const { blocking, keys, settings } = this.deps;
    while (!this.stopping) {
      try {
        const res = await blocking.xread('COUNT', settings.readBatch, 'BLOCK', settings.readBlockMs, 'STREAMS', keys.outcomeStream, this.lastId);
        if (this.stopping) break;
        if (!res) continue;
        for (const [, entries] of res) this.ingest(entries);
        this.queueEvaluation();
      } catch (err) {
        if (this.stopping) break;
        this.warnRateLimited('reading the outcome stream failed; retrying', err);
        await sleep(200);
      }
    }
  }

  private ingest(entries: [id: string, fields: string[]][]): void {
    for (const [id, fields] of entries) {
      this.lastId = id;
      const i = fields.indexOf('e');
      const parsed = i >= 0 && i % 2 === 0 ? outcomeEventSchema.safeParse(safeJson(fields[i + 1])) : undefined;
      if (!parsed?.success) {
        this.warnRateLimited('ignored a malformed outcome event', undefined, { id });
        continue;
      }
      const e = parsed.data;
      const window = this.windows.get(e.provider);
      if (!window) continue;
      // The stream id is the Redis clock at XADD: one clock for every dispatcher, unlike `at`.
      const receivedAt = Number(id.slice(0, id.indexOf('-')));
      window.add({ kind: e.kind, latencyMs: e.latency_ms, receivedAt });
      if (e.kind !== 'success') {
        this.failures.add({ provider: e.provider, kind: e.kind, received_at: receivedAt, latency_ms: e.latency_ms, message_id: e.message_id, error: e.error });
      }
    }
  }

  // --- commands -------------------------------------------------------------------------------

  private onCommand(raw: string): void {
    const parsed = healthCommandSchema.safeParse(safeJson(raw));
    if (!parsed.success) {
      this.warnRateLimited('ignored a malformed health command');
      return;
    }
    const { provider } = parsed.data;
    this.deps.logger.info('health reset requested', { provider, leader: this.canWrite() });
    void this.serial(async () => {
      if (this.canWrite()) {
        const status = this.statuses.get(provider);
        if (status) await this.commit(reset(status, this.now(), this.deps.settings));
      } else {
        // Followers drop their window too, so a takeover does not resurrect the cleared failures.
        this.windows.get(provider)?.clear();
      }
    });
  }

  // --- leadership -----------------------------------------------------------------------------

  private canWrite(): boolean {
    return this.leader && !this.stopping && this.now() < this.leaseValidUntil;
  }

  private async leaseTick(): Promise<void> {
    if (this.stopping) return;
    const { redis, keys, settings, replicaId, logger } = this.deps;
    const startedAt = this.now();
    // A margin for clock drift and the round trip: stop writing a little before the lease lapses.
    const validFor = settings.leaseMs - Math.min(500, Math.floor(settings.leaseMs / 5));
    try {
      if (this.leader) {
        const renewed = (await redis.eval(RENEW_LEASE, 1, keys.healthLeader, replicaId, settings.leaseMs)) as number;
        if (renewed === 1) {
          this.leaseValidUntil = startedAt + validFor;
          return;
        }
        this.leader = false;
        logger.warn('lost the health leader lease; following', { replica: replicaId });
      }
      const acquired = await redis.set(keys.healthLeader, replicaId, 'PX', settings.leaseMs, 'NX');
      if (acquired === 'OK') {
        this.leader = true;
        this.leaseValidUntil = startedAt + validFor;
        logger.info('acquired the health leader lease', { replica: replicaId });
        await this.syncFromStore();
        await this.evaluateAll();
        await this.refresh(true);
      }
    } catch (err) {
      if (this.leader && this.now() >= this.leaseValidUntil) {
        this.leader = false;
        logger.warn('could not renew the health leader lease in time; following', { replica: replicaId });
      }
      this.warnRateLimited('lease check failed', err);
    }
  }

  private async releaseLease(): Promise<void> {
    if (!this.leader) return;
    this.leader = false;
    const { redis, keys, replicaId } = this.deps;
    await redis.eval(RELEASE_LEASE, 1, keys.healthLeader, replicaId).catch((err) => this.warnRateLimited('could not release the lease', err));
  }

  // --- evaluation -----------------------------------------------------------------------------

  /** Runs `fn` after every earlier task: evaluations, commands and lease changes never interleave. */
  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn).catch((err) => this.warnRateLimited('health evaluation failed', err));
    this.chain = run;
    return run;
  }

  /** Queues a periodic task unless the same one is still waiting: a slow Redis must not pile up timers. */
  private schedule(name: 'lease' | 'tick', fn: () => Promise<void>): void {
    if (this.scheduled.has(name)) return;
    this.scheduled.add(name);
    void this.serial(async () => {
      this.scheduled.delete(name);
      await fn();
    });
  }

  private queueEvaluation(): void {
    if (this.evalQueued || !this.canWrite()) return;
    this.evalQueued = true;
    void this.serial(async () => {
      this.evalQueued = false;
      await this.evaluateAll();
    });
  }

  private async tick(): Promise<void> {
    if (this.stopping) return;
    if (!this.canWrite()) {
      await this.syncFromStore();
      return;
    }
    await this.evaluateAll();
    const now = this.now();
    if (now - this.lastRefresh >= this.deps.settings.refreshIntervalMs) await this.refresh(now - this.lastAnnounce >= this.announceIntervalMs());
  }

  private async evaluateAll(): Promise<void> {
    for (const provider of this.deps.settings.providers) {
      if (!this.canWrite()) return;
      const status = this.statuses.get(provider)!;
      const window = this.windows.get(provider)!;
      const now = this.now();
      const probing = status.state === 'probing';
      const decision = evaluate(
        status,
        {
          now,
          window: window.summary(now),
          probeVerdict: probing ? window.probeVerdict(status.since) : undefined,
          probeTokensLeft: probing ? await this.probeTokensLeft(provider) : undefined,
        },
        this.deps.settings,
      );
      if (decision.transition) await this.commit(decision);
      else this.statuses.set(provider, decision.status);
    }
  }

  /** Writes a transition: probe tokens, the stored state and the event; then adopts it locally. */
  private async commit(decision: Decision): Promise<ProviderHealthState | undefined> {
    if (!this.canWrite() || !decision.transition) return undefined;
    const { redis, keys, logger } = this.deps;
    const { status, effects } = decision;
    const now = this.now();
    const stored = toStored(status, now, effects.setProbeTokens ?? 0);
    const event: AvailabilityEvent = { provider: status.provider, previous: decision.transition.previous, state: stored };
    // One pipeline, in order (not MULTI: the probe key lives in the limiter's hash slot, so a
    // transaction would not survive a move to Redis Cluster). Tokens come first, so a reader that
    // sees `probing` finds them; a DEL comes after the new state.
    const tx = redis.pipeline();
    if (effects.setProbeTokens !== undefined) tx.set(keys.probeTokens(status.provider), effects.setProbeTokens);
    tx.hset(keys.healthState, status.provider, JSON.stringify(stored));
    tx.publish(keys.availabilityChannel, JSON.stringify(event));
    if (effects.deleteProbeTokens) tx.del(keys.probeTokens(status.provider));
    const results = await tx.exec();
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw failed?.[0] ?? new Error('pipeline aborted');
    if (effects.clearWindowBefore !== undefined) this.windows.get(status.provider)!.dropBefore(effects.clearWindowBefore);
    this.statuses.set(status.provider, status);
    this.updatedAt.set(status.provider, now);
    logger.info('provider availability changed', {
      provider: status.provider,
      previous: decision.transition.previous,
      state: status.state,
      reason: status.reason,
      cooldown_ms: status.cooldownMs,
    });
    return stored;
  }

  private announceIntervalMs(): number {
    return Math.max(this.deps.settings.refreshIntervalMs, Math.floor(this.deps.settings.stateMaxAgeMs / 3));
  }

  /**
   * Rewrites `updated_at` of every state so readers do not take a live state for a stale one.
   * HealthStateView only re-reads the hash on (re)connect, so non-available states are also
   * re-announced on the channel (an event whose `previous` equals its state: not a transition).
   */
  private async refresh(announce: boolean): Promise<void> {
    if (!this.canWrite()) return;
    const { redis, keys, settings } = this.deps;
    const now = this.now();
    const fields: string[] = [];
    const events: AvailabilityEvent[] = [];
    for (const p of settings.providers) {
      const status = this.statuses.get(p)!;
      const stored = toStored(status, now, status.state === 'probing' ? await this.probeTokensLeft(p) : 0);
      fields.push(p, JSON.stringify(stored));
      if (announce && status.state !== 'available') events.push({ provider: p, previous: status.state, state: stored });
    }
    const pipe = redis.pipeline().hset(keys.healthState, ...fields);
    for (const e of events) pipe.publish(keys.availabilityChannel, JSON.stringify(e));
    const results = await pipe.exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
    for (const p of settings.providers) this.updatedAt.set(p, now);
    this.lastRefresh = now;
    if (announce) this.lastAnnounce = now;
  }

  /**
   * Mirrors the stored states (at start, on every follower tick and on taking the lease). A state
   * that is `available` since T means the leader dropped outcomes received before T, so we do too.
   */
  private async syncFromStore(): Promise<void> {
    const all = await this.deps.redis.hgetall(this.deps.keys.healthState);
    for (const [field, raw] of Object.entries(all)) {
      const parsed = providerHealthStateSchema.safeParse(safeJson(raw));
      if (!parsed.success || parsed.data.provider !== field) continue;
      const s = parsed.data;
      const local = this.statuses.get(s.provider);
      if (!local) continue;
      if (local.state !== s.state || local.since !== s.since || local.reason !== s.reason) {
        this.statuses.set(s.provider, { provider: s.provider, state: s.state, since: s.since, reason: s.reason, cooldownMs: s.cooldown_ms });
      }
      if (s.state === 'available') this.windows.get(s.provider)!.dropBefore(s.since);
      this.updatedAt.set(s.provider, s.updated_at);
    }
  }

  private async probeTokensLeft(provider: ProviderId): Promise<number> {
    const raw = await this.deps.redis.get(this.deps.keys.probeTokens(provider));
    const n = Number(raw);
    return raw !== null && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
  }

  private async doStop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    // Cutting the connection ends a pending XREAD BLOCK now instead of after readBlockMs.
    this.deps.blocking.disconnect();
    await this.readLoopDone;
    await this.chain;
    await this.deps.subscriber.unsubscribe(this.deps.keys.healthCommands).catch(() => undefined);
    await this.releaseLease();
  }

  private warnRateLimited(message: string, err?: unknown, meta: Record<string, unknown> = {}): void {
    if (this.now() - this.lastWarn < 5000) return;
    this.lastWarn = this.now();
    this.deps.logger.warn(message, { ...meta, ...(err ? { error: err instanceof Error ? err.message : String(err) } : {}) });
  }
}

function toStored(status: ProviderStatus, now: number, probesRemaining: number): ProviderHealthState {
  return {
    provider: status.provider,
    state: status.state,
    since: status.since,
    reason: status.reason,
    updated_at: now,
    cooldown_ms: status.cooldownMs,
    probes_remaining: status.state === 'probing' ? probesRemaining : 0,
  };
}

function safeJson(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
