import type { AvailabilityState, ProviderHealthState } from '@twillow/contracts';
import type { ProbeVerdict, WindowSummary } from './outcome-window';

/**
 * The availability state machine of one provider, pure: no clock, no Redis. The monitor feeds it
 * what it observed and carries out the effects it returns.
 *
 *   available   --failure ratio >= threshold with >= minSamples samples-->  unavailable (cooldown = base)
 *   unavailable --cooldown elapsed-->                                       probing (probeCount tokens)
 *   probing     --a probe succeeds-->                                       available (window cleared, cooldown = base)
 *   probing     --a probe fails-->                                          unavailable (cooldown doubled, capped)
 *   probing     --tokens spent and no verdict for probeVerdictTimeoutMs-->  unavailable (cooldown kept)
 *   any         --operator reset-->                                         available (window cleared, cooldown = base)
 */

export interface PolicySettings {
  failureThreshold: number;
  minSamples: number;
  /** ms */
  cooldownMs: number;
  /** ms */
  maxCooldownMs: number;
  probeCount: number;
  /** ms */
  probeVerdictTimeoutMs: number;
}

/** The monitor's view of one provider: the stored fields plus what only the evaluator needs. */
export interface ProviderStatus {
  provider: ProviderHealthState['provider'];
  state: AvailabilityState;
  /** Epoch ms of the last transition. */
  since: number;
  /** Why the last transition happened. */
  reason: string;
  /** Cooldown that applies to the current (or next) unavailable period, ms. */
  cooldownMs: number;
  /** When the evaluator first saw the probe tokens spent, epoch ms; only while probing. */
  probesSpentAt?: number;
}

export interface Observation {
  now: number;
  window: WindowSummary;
  /** Only needed while probing: the first probe answer since probing began. */
  probeVerdict?: ProbeVerdict;
  /** Only needed while probing: tokens left in Redis (0 when the key is gone). */
  probeTokensLeft?: number;
}

export interface Effects {
  /** Write this many probe tokens (SET). */
  setProbeTokens?: number;
  /** Remove the probe tokens (DEL). */
  deleteProbeTokens?: boolean;
  /** Drop window entries received before this epoch ms (old failures after a recovery). */
  clearWindowBefore?: number;
}

export interface Decision {
  status: ProviderStatus;
  /** Set when the state changed (or an operator reset): the monitor stores and publishes it. */
  transition?: { previous: AvailabilityState };
  effects: Effects;
}

export function initialStatus(provider: ProviderStatus['provider'], now: number, settings: PolicySettings): ProviderStatus {
  return { provider, state: 'available', since: now, reason: 'no outcomes yet', cooldownMs: settings.cooldownMs };
}

export function evaluate(status: ProviderStatus, obs: Observation, settings: PolicySettings): Decision {
  switch (status.state) {
    case 'available':
      return evaluateAvailable(status, obs, settings);
    case 'unavailable':
      return evaluateUnavailable(status, obs, settings);
    case 'probing':
      return evaluateProbing(status, obs, settings);
  }
}

/** Operator reset: available now, with a fresh window and the base cooldown. */
export function reset(status: ProviderStatus, now: number, settings: PolicySettings): Decision {
  return {
    status: { provider: status.provider, state: 'available', since: now, reason: 'reset by operator', cooldownMs: settings.cooldownMs },
    transition: { previous: status.state },
    effects: { deleteProbeTokens: true, clearWindowBefore: Number.POSITIVE_INFINITY },
  };
}

function evaluateAvailable(status: ProviderStatus, obs: Observation, settings: PolicySettings): Decision {
  const w = obs.window;
  if (w.samples < settings.minSamples || w.failureRatio < settings.failureThreshold) return { status, effects: {} };
  const kinds = (['server_error', 'timeout', 'connection_error'] as const)
    .filter((k) => w.counts[k] > 0)
    .map((k) => `${k} ${w.counts[k]}`)
    .join(', ');
  return {
    status: {
      provider: status.provider,
      state: 'unavailable',
      since: obs.now,
      reason:
        `failure ratio ${w.failureRatio.toFixed(2)} >= ${settings.failureThreshold} over ${w.samples} outcomes ` +
        `in ${w.windowMs} ms (${kinds})`,
      cooldownMs: settings.cooldownMs,
    },
    transition: { previous: 'available' },
    effects: { deleteProbeTokens: true },
  };
}

function evaluateUnavailable(status: ProviderStatus, obs: Observation, settings: PolicySettings): Decision {
  if (obs.now - status.since < status.cooldownMs) return { status, effects: {} };
  return {
    status: {
      provider: status.provider,
      state: 'probing',
      since: obs.now,
      reason: `cooldown of ${status.cooldownMs} ms elapsed; letting ${settings.probeCount} probe sends through`,
      cooldownMs: status.cooldownMs,
    },
    transition: { previous: 'unavailable' },
    effects: { setProbeTokens: settings.probeCount },
  };
}

function evaluateProbing(status: ProviderStatus, obs: Observation, settings: PolicySettings): Decision {
  const verdict = obs.probeVerdict;
  if (verdict?.outcome === 'success') {
    return {
      status: { provider: status.provider, state: 'available', since: obs.now, reason: 'probe send succeeded', cooldownMs: settings.cooldownMs },
      transition: { previous: 'probing' },
      // Without this the failures that caused the outage would flip it back at once.
      effects: { deleteProbeTokens: true, clearWindowBefore: obs.now },
    };
  }
  if (verdict?.outcome === 'failure') {
    const cooldownMs = Math.min(status.cooldownMs * 2, settings.maxCooldownMs);
    return {
      status: {
        provider: status.provider,
        state: 'unavailable',
        since: obs.now,
        reason: `probe send failed (${verdict.kind}); cooldown now ${cooldownMs} ms`,
        cooldownMs,
      },
      transition: { previous: 'probing' },
      effects: { deleteProbeTokens: true },
    };
  }
  if ((obs.probeTokensLeft ?? 0) > 0) {
    return status.probesSpentAt === undefined ? { status, effects: {} } : { status: withoutSpent(status), effects: {} };
  }
  if (status.probesSpentAt === undefined) return { status: { ...status, probesSpentAt: obs.now }, effects: {} };
  if (obs.now - status.probesSpentAt < settings.probeVerdictTimeoutMs) return { status, effects: {} };
  // Probes were let through but nothing came back (a dispatcher died mid-send?): no evidence
  // against the provider, so rest again with the same cooldown rather than a doubled one.
  return {
    status: {
      provider: status.provider,
      state: 'unavailable',
      since: obs.now,
      reason: `probe sends gave no verdict within ${settings.probeVerdictTimeoutMs} ms`,
      cooldownMs: status.cooldownMs,
    },
    transition: { previous: 'probing' },
    effects: { deleteProbeTokens: true },
  };
}

function withoutSpent(status: ProviderStatus): ProviderStatus {
  const { probesSpentAt: _spent, ...rest } = status;
  return rest;
}
