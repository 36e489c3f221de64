import type Redis from 'ioredis';
import {
  availabilityEventSchema,
  providerHealthStateSchema,
  type AvailabilityEvent,
  type AvailabilityState,
  type ProviderHealthState,
} from '@twillow/contracts';
import type { Logger } from '@twillow/logger';
import type { RedisKeys } from './keys';

/**
 * The readers' view of provider health: the snapshot stored in Redis, kept current by the
 * availability channel. A state older than `maxAgeMs` counts as available, so traffic goes on
 * when the health monitor is away.
 */
export class HealthStateView {
  private readonly states = new Map<string, ProviderHealthState>();
  private subscriber?: Redis;
  private refreshTimer?: NodeJS.Timeout;
  private readonly listeners: ((event: AvailabilityEvent) => void)[] = [];

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly maxAgeMs: number,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reads the stored snapshot, then follows the channel on `subscriber` (a dedicated connection). */
  async start(subscriber: Redis): Promise<void> {
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string, raw: string) => {
      if (channel !== this.keys.availabilityChannel) return;
      const parsed = availabilityEventSchema.safeParse(safeJson(raw));
      if (!parsed.success) {
        this.logger.warn('ignored malformed availability event');
        return;
      }
      this.apply(parsed.data.state);
      // The monitor re-announces standing states so readers never see them go stale; those are not transitions.
      if (parsed.data.previous === parsed.data.state.state) return;
      for (const l of this.listeners) l(parsed.data);
    });
    // Re-read the snapshot after every reconnect: events published while we were away are lost.
    subscriber.on('ready', () => void this.refresh().catch(() => undefined));
    await subscriber.subscribe(this.keys.availabilityChannel);
    await this.refresh();
    // The monitor refreshes `updated_at` in the hash; re-reading it a few times per max age keeps a
    // live state from looking stale here, while a dead monitor's states still age out.
    this.refreshTimer = setInterval(() => void this.refresh().catch(() => undefined), Math.max(250, Math.floor(this.maxAgeMs / 3)));
    this.refreshTimer.unref();
  }

  async refresh(): Promise<void> {
    const all = await this.redis.hgetall(this.keys.healthState);
    for (const raw of Object.values(all)) {
      const parsed = providerHealthStateSchema.safeParse(safeJson(raw));
      if (parsed.success) this.apply(parsed.data);
    }
  }

  onTransition(listener: (event: AvailabilityEvent) => void): void {
    this.listeners.push(listener);
  }

  /** The state a router should act on; stale or unknown states are `available`. */
  effectiveState(provider: string): AvailabilityState {
    const s = this.states.get(provider);
    if (!s) return 'available';
    if (this.now() - s.updated_at > this.maxAgeMs) return 'available';
    return s.state;
  }

  /** The raw stored state, if any, with a flag telling whether it is stale. */
  get(provider: string): (ProviderHealthState & { stale: boolean }) | undefined {
    const s = this.states.get(provider);
    return s ? { ...s, stale: this.now() - s.updated_at > this.maxAgeMs } : undefined;
  }

  private apply(state: ProviderHealthState): void {
    const known = this.states.get(state.provider);
    if (!known || known.updated_at <= state.updated_at) this.states.set(state.provider, state);
  }

  async stop(): Promise<void> {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    if (this.subscriber) await this.subscriber.unsubscribe(this.keys.availabilityChannel).catch(() => undefined);
  }
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
