import { createLogger } from '@twillow/logger';
import type { AcquireResult } from '@twillow/rate-limit';
import { sendThroughLimiter, type ProviderSender, type SlotLimiter } from './send-through-limiter';
import type { SendResult } from './send-result';

const logger = createLogger({ service: 'providers-test', version: 'test', level: 'error' });
const ok: SendResult = { kind: 'success', statusCode: 200, body: '{}', providerRef: null, latencyMs: 1, retryAfterMs: null, error: null };

function fakes(grantAges: number[], answer: SendResult = ok) {
  const released: string[] = [];
  const marked: string[] = [];
  let n = 0;
  const limiter: SlotLimiter = {
    async acquire(): Promise<AcquireResult> {
      const age = grantAges[Math.min(n, grantAges.length - 1)];
      n++;
      return { kind: 'granted', provider: 'provider1', member: `m${n}`, grantedAt: performance.now() - age, waitedMs: 0 };
    },
    backoff: async () => undefined,
    release: async (_p, member) => {
      released.push(member);
      return true;
    },
    markAnswered: async (p, member) => {
      marked.push(`${p}:${member} after ${sent.length} sent`);
      return true;
    },
  };
  const sent: string[] = [];
  const client: ProviderSender = {
    async send(provider, body) {
      sent.push(`${provider.id}:${body.message_id}`);
      return answer;
    },
  };
  const deps = { limiter, client, providers: [{ id: 'provider1' as const, url: 'http://127.0.0.1:1' }], outcomes: { publish: async () => undefined }, logger };
  return { deps, released, sent, marked };
}

describe('sendThroughLimiter', () => {
  const input = { body: { phone: '+8801921317475', text: 'hi', message_id: 'id-1' }, acquire: {}, maxGrantAgeMs: 10 };

  it('gives back a grant that went stale before the request left and sends on a fresh one', async () => {
    const { deps, released, sent } = fakes([50, 0]);
    const r = await sendThroughLimiter(deps, input);
    expect(r.kind).toBe('answered');
    expect(released).toEqual(['m1']);
    expect(sent).toEqual(['provider1:id-1']);
  });

  it('sends on a fresh grant without giving anything back', async () => {
    const { deps, released, sent } = fakes([0]);
    await sendThroughLimiter(deps, input);
    expect(released).toEqual([]);
    expect(sent).toHaveLength(1);
  });

  it('sends anyway after three stale grants in a row, so an overloaded host is not starved', async () => {
    const { deps, released, sent } = fakes([50]);
    await sendThroughLimiter(deps, input);
    expect(released).toEqual(['m1', 'm2', 'm3']);
    expect(sent).toHaveLength(1);
  });

  it('marks the grant it sent on as answered once the answer is back, not the one it gave back', async () => {
    const { deps, marked } = fakes([50, 0]);
    await sendThroughLimiter(deps, input);
    expect(marked).toEqual(['provider1:m2 after 1 sent']);
  });

  it('marks the grant as answered when the request failed on the network too (the provider may have counted it)', async () => {
    const { deps, marked } = fakes([0], { ...ok, kind: 'timeout', statusCode: null, body: null, error: 'timeout after 5000 ms' });
    const r = await sendThroughLimiter(deps, input);
    expect(r.kind === 'answered' && r.result.kind).toBe('timeout');
    expect(marked).toEqual(['provider1:m1 after 1 sent']);
  });

  it('gives the slot back and sends nothing when beforeSend declines (the lease was lost)', async () => {
    const { deps, released, sent, marked } = fakes([0]);
    const r = await sendThroughLimiter(deps, { ...input, beforeSend: async () => false });
    expect(r).toEqual({ kind: 'cancelled', provider: 'provider1' });
    expect({ released, sent, marked }).toEqual({ released: ['m1'], sent: [], marked: [] });
  });
});
