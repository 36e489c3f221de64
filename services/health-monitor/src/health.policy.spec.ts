import { evaluate, initialStatus, reset, type PolicySettings, type ProviderStatus } from './health.policy';
import { OutcomeWindow, type WindowSummary } from './outcome-window';

const settings: PolicySettings = {
  failureThreshold: 0.5,
  minSamples: 10,
  cooldownMs: 1000,
  maxCooldownMs: 3000,
  probeCount: 3,
  probeVerdictTimeoutMs: 2000,
};

function windowOf(successes: number, failures: number, extra: Partial<Record<'throttled' | 'rejected', number>> = {}): WindowSummary {
  const w = new OutcomeWindow(10_000);
  const add = (kind: Parameters<OutcomeWindow['add']>[0]['kind'], n: number) => {
    for (let i = 0; i < n; i++) w.add({ kind, latencyMs: 5, receivedAt: 1000 });
  };
  add('success', successes);
  add('server_error', failures);
  add('throttled', extra.throttled ?? 0);
  add('rejected', extra.rejected ?? 0);
  return w.summary(1000);
}

const empty = windowOf(0, 0);
const status = (over: Partial<ProviderStatus>): ProviderStatus => ({ ...initialStatus('provider1', 0, settings), ...over });

describe('health policy', () => {
  describe('available', () => {
    it('becomes unavailable when the failure ratio reaches the threshold with enough samples', () => {
      const d = evaluate(status({}), { now: 5000, window: windowOf(5, 5) }, settings);
      expect(d.transition).toEqual({ previous: 'available' });
      expect(d.status).toMatchObject({ state: 'unavailable', since: 5000, cooldownMs: 1000 });
      expect(d.status.reason).toContain('failure ratio 0.50 >= 0.5 over 10 outcomes');
      expect(d.status.reason).toContain('server_error 5');
      expect(d.effects.deleteProbeTokens).toBe(true);
    });

    it('stays available below the threshold', () => {
      const d = evaluate(status({}), { now: 5000, window: windowOf(6, 4) }, settings);
      expect(d.transition).toBeUndefined();
      expect(d.status.state).toBe('available');
    });

    it('stays available with every outcome failing but fewer than minSamples', () => {
      const d = evaluate(status({}), { now: 5000, window: windowOf(0, 9) }, settings);
      expect(d.transition).toBeUndefined();
    });

    it('does not count throttled (429) or rejected (4xx) answers as failures or samples', () => {
      const d = evaluate(status({}), { now: 5000, window: windowOf(4, 3, { throttled: 50, rejected: 50 }) }, settings);
      expect(d.transition).toBeUndefined();
    });
  });

  describe('unavailable', () => {
    it('waits out the cooldown, then probes with probeCount tokens', () => {
      const down = status({ state: 'unavailable', since: 1000, cooldownMs: 1000 });
      expect(evaluate(down, { now: 1999, window: empty }, settings).transition).toBeUndefined();
      const d = evaluate(down, { now: 2000, window: empty }, settings);
      expect(d.transition).toEqual({ previous: 'unavailable' });
      expect(d.status).toMatchObject({ state: 'probing', since: 2000, cooldownMs: 1000 });
      expect(d.effects.setProbeTokens).toBe(3);
    });
  });

  describe('probing', () => {
    const probing = status({ state: 'probing', since: 2000, cooldownMs: 1000 });

    it('recovers on a probe success, clears the old window and resets the cooldown', () => {
      const d = evaluate(
        { ...probing, cooldownMs: 2000 },
        { now: 2100, window: windowOf(0, 20), probeTokensLeft: 2, probeVerdict: { outcome: 'success', kind: 'success', receivedAt: 2050 } },
        settings,
      );
      expect(d.transition).toEqual({ previous: 'probing' });
      expect(d.status).toMatchObject({ state: 'available', since: 2100, reason: 'probe send succeeded', cooldownMs: 1000 });
      expect(d.effects).toEqual({ deleteProbeTokens: true, clearWindowBefore: 2100 });
    });

    it('returns to unavailable on a probe failure with the cooldown doubled', () => {
      const d = evaluate(probing, { now: 2100, window: empty, probeTokensLeft: 2, probeVerdict: { outcome: 'failure', kind: 'timeout', receivedAt: 2050 } }, settings);
      expect(d.status).toMatchObject({ state: 'unavailable', since: 2100, cooldownMs: 2000 });
      expect(d.status.reason).toBe('probe send failed (timeout); cooldown now 2000 ms');
      expect(d.effects.deleteProbeTokens).toBe(true);
    });

    it('caps the doubled cooldown at maxCooldownMs', () => {
      const d = evaluate(
        { ...probing, cooldownMs: 2000 },
        { now: 2100, window: empty, probeTokensLeft: 0, probeVerdict: { outcome: 'failure', kind: 'server_error', receivedAt: 2050 } },
        settings,
      );
      expect(d.status.cooldownMs).toBe(3000);
    });

    it('keeps probing while tokens remain and no verdict came, however long', () => {
      const d = evaluate(probing, { now: 60_000, window: empty, probeTokensLeft: 1 }, settings);
      expect(d.transition).toBeUndefined();
      expect(d.status.state).toBe('probing');
    });

    it('returns to unavailable with the same cooldown when tokens are spent and no verdict comes in time', () => {
      const first = evaluate(probing, { now: 3000, window: empty, probeTokensLeft: 0 }, settings);
      expect(first.transition).toBeUndefined();
      expect(first.status.probesSpentAt).toBe(3000);
      expect(evaluate(first.status, { now: 4999, window: empty, probeTokensLeft: 0 }, settings).transition).toBeUndefined();
      const d = evaluate(first.status, { now: 5000, window: empty, probeTokensLeft: 0 }, settings);
      expect(d.status).toMatchObject({ state: 'unavailable', since: 5000, cooldownMs: 1000 });
      expect(d.status.reason).toBe('probe sends gave no verdict within 2000 ms');
    });
  });

  describe('reset', () => {
    it('makes any state available with a cleared window, no probe tokens and the base cooldown', () => {
      const d = reset(status({ state: 'unavailable', cooldownMs: 3000, since: 10 }), 500, settings);
      expect(d.transition).toEqual({ previous: 'unavailable' });
      expect(d.status).toMatchObject({ state: 'available', since: 500, reason: 'reset by operator', cooldownMs: 1000 });
      expect(d.effects).toEqual({ deleteProbeTokens: true, clearWindowBefore: Number.POSITIVE_INFINITY });
    });
  });
});
