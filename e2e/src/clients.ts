/**
 * Clients of the stack's HTTP surfaces: the gateway's API, the provider mocks' admin endpoints and
 * the health monitor's status page. Shapes follow packages/contracts and mocks/provider.
 */
import { isFailure, mustRequest, request, summarize, type HttpOutcome, type HttpResult } from './http.client';
import { PROVIDERS, type E2EStack, type ProviderId } from './stack.fixture';

export type MessageStatus = 'pending' | 'processing' | 'sent' | 'failed';
export const FINAL_STATUSES: readonly MessageStatus[] = ['sent', 'failed'];

export interface SmsResponseRecord {
  id: number;
  provider: string;
  attempt: number;
  status_code: number | null;
  body: string | null;
  latency_ms: number;
  outcome: string;
  error: string | null;
  created_at: string;
}

export interface SmsRequestRecord {
  id: string;
  phone: string;
  phone_normalized: string;
  text: string;
  encoding: string;
  segments: number;
  status: MessageStatus;
  attempts: number;
  provider: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

export interface SmsRequestDetail extends SmsRequestRecord {
  responses: SmsResponseRecord[];
}

export interface MockStats {
  received: number;
  accepted: number;
  failed: number;
  throttled: number;
  rejected: number;
  unanswered?: number;
  max_in_any_1s_window: number;
  duplicates: number;
  accepted_ids_count?: number;
  mode?: string;
  rate_limit?: number;
  [k: string]: unknown;
}

/** A valid Bangladeshi mobile number, different per index (the gateway's DEFAULT_REGION is BD). */
export function phoneFor(i: number): string {
  return `0171${String(1_000_000 + (i % 9_000_000)).padStart(7, '0')}`;
}

export class GatewayClient {
  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string,
    private readonly adminKey: string,
  ) {}

  auth(): Record<string, string> {
    return { Authorization: `Bearer ${this.apiKey}` };
  }

  adminAuth(): Record<string, string> {
    return { Authorization: `Bearer ${this.adminKey}` };
  }

  /** POST /api/sms/send; never throws (transport errors come back as status 0). */
  send(phone: string, text: string, extraHeaders: Record<string, string> = {}, timeoutMs = 15000): Promise<HttpOutcome> {
    return request(`${this.baseUrl}/api/sms/send`, {
      method: 'POST',
      headers: { ...this.auth(), ...extraHeaders },
      body: { phone, text },
      timeoutMs,
    });
  }

  /** GET /api/sms/requests/{id}; undefined on a 404. */
  async getRequest(id: string): Promise<SmsRequestDetail | undefined> {
    const r = await mustRequest(`${this.baseUrl}/api/sms/requests/${encodeURIComponent(id)}`, { headers: this.auth() });
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new Error(`GET /api/sms/requests/${id} answered ${summarize(r)}`);
    return r.json as SmsRequestDetail;
  }

  /** One page of GET /api/sms/requests. */
  async listPage(params: { status?: MessageStatus; limit?: number; cursor?: string | null } = {}): Promise<{
    requests: SmsRequestRecord[];
    next_cursor: string | null;
    count: number;
  }> {
    const q = new URLSearchParams();
    if (params.status) q.set('status', params.status);
    q.set('limit', String(params.limit ?? 500));
    if (params.cursor) q.set('cursor', params.cursor);
    const r = await mustRequest(`${this.baseUrl}/api/sms/requests?${q}`, { headers: this.auth() });
    if (r.status !== 200) throw new Error(`GET /api/sms/requests?${q} answered ${summarize(r)}`);
    return r.json;
  }

  /** Every stored request (optionally of one status), following next_cursor to the end. */
  async listAll(status?: MessageStatus): Promise<SmsRequestRecord[]> {
    const out: SmsRequestRecord[] = [];
    const seen = new Set<string>();
    let cursor: string | null = null;
    for (let page = 0; page < 10_000; page += 1) {
      const res = await this.listPage({ status, limit: 500, cursor });
      for (const r of res.requests) {
        if (seen.has(r.id)) throw new Error(`GET /api/sms/requests paged the same request twice: ${r.id} (cursor ${cursor})`);
        seen.add(r.id);
        out.push(r);
      }
      if (!res.next_cursor || res.requests.length === 0) return out;
      cursor = res.next_cursor;
    }
    throw new Error('GET /api/sms/requests did not reach the end after 10000 pages');
  }

  async providersHealth(): Promise<HttpResult> {
    return mustRequest(`${this.baseUrl}/api/sms/health`, { headers: this.auth() });
  }

  async health(): Promise<HttpOutcome> {
    return request(`${this.baseUrl}/health`, { timeoutMs: 3000 });
  }
}

export class MocksClient {
  constructor(private readonly urls: Record<ProviderId, string>) {}

  async stats(id: ProviderId): Promise<MockStats> {
    return (await mustRequest(`${this.urls[id]}/admin/stats`)).json as MockStats;
  }

  async allStats(): Promise<Record<ProviderId, MockStats>> {
    const entries = await Promise.all(PROVIDERS.map(async (id) => [id, await this.stats(id)] as const));
    return Object.fromEntries(entries) as Record<ProviderId, MockStats>;
  }

  async accepted(id: ProviderId): Promise<string[]> {
    return ((await mustRequest(`${this.urls[id]}/admin/accepted`)).json as { message_ids: string[] }).message_ids;
  }

  async setMode(id: ProviderId, mode: 'up' | 'down' | 'flaky' | 'slow' | 'timeout' | 'reject'): Promise<void> {
    const r = await mustRequest(`${this.urls[id]}/admin/mode`, { method: 'POST', body: { mode } });
    if (r.status !== 200) throw new Error(`mode ${mode} on ${id}: ${summarize(r)}`);
  }

  async configure(id: ProviderId, cfg: { rate_limit?: number; latency_ms?: number; jitter_ms?: number; failure_rate?: number; slow_ms?: number }) {
    const r = await mustRequest(`${this.urls[id]}/admin/config`, { method: 'POST', body: cfg });
    if (r.status !== 200) throw new Error(`config on ${id}: ${summarize(r)}`);
  }

  async reset(id: ProviderId): Promise<void> {
    const r = await mustRequest(`${this.urls[id]}/admin/reset`, { method: 'POST' });
    if (r.status !== 200) throw new Error(`reset ${id}: ${summarize(r)}`);
  }

  async resetAll(): Promise<void> {
    await Promise.all(PROVIDERS.map((id) => this.reset(id)));
  }

  async setAll(mode: 'up' | 'down', cfg?: Parameters<MocksClient['configure']>[1]): Promise<void> {
    await Promise.all(
      PROVIDERS.map(async (id) => {
        await this.setMode(id, mode);
        if (cfg) await this.configure(id, cfg);
      }),
    );
  }
}

export interface MonitorProviderReport {
  provider: ProviderId;
  state: 'available' | 'unavailable' | 'probing';
  reason: string;
  [k: string]: unknown;
}

export class MonitorClient {
  constructor(readonly baseUrl: string) {}

  async status(): Promise<{ leader: boolean; providers: MonitorProviderReport[] } | undefined> {
    const r = await request(`${this.baseUrl}/status`, { timeoutMs: 3000 });
    if (isFailure(r) || r.status !== 200) return undefined;
    return r.json;
  }

  async stateOf(provider: ProviderId): Promise<string | undefined> {
    const s = await this.status();
    return s?.providers.find((p) => p.provider === provider)?.state;
  }
}

export function clientsFor(stack: E2EStack) {
  return {
    gateway: new GatewayClient(stack.gatewayUrl, stack.apiKey, stack.adminKey),
    mocks: new MocksClient(stack.mockUrls),
    monitor: new MonitorClient(stack.monitorUrl),
  };
}
