import { busyDispatchRate, maxInAnyWindow } from './scenario.helpers';

describe('maxInAnyWindow', () => {
  it('counts events in (t - 1000, t], so events exactly 1000 ms apart fall in different windows', () => {
    expect(maxInAnyWindow([0, 1000, 2000])).toEqual({ max: 1, at: 0 });
    expect(maxInAnyWindow([0, 999, 1998])).toEqual({ max: 2, at: 999 });
  });

  it('finds the busiest interval across fixed-second boundaries, whatever the input order', () => {
    // (190, 1190] holds 200, 950, 1000, 1150, 1190: five, while no fixed second holds more than four.
    expect(maxInAnyWindow([2500, 1190, 0, 100, 200, 950, 1000, 1150])).toEqual({ max: 5, at: 1190 });
  });

  it('reports zero for no events', () => {
    expect(maxInAnyWindow([])).toEqual({ max: 0, at: null });
  });
});

describe('busyDispatchRate', () => {
  it('counts only the intervals that began with a backlog at the gateway', () => {
    // The gateway accepted 100 messages at t=0 and nothing else; the providers took 40 per 200 ms
    // until the backlog fell below 30, then the last 20 over 1 s (the queue was nearly dry).
    const gateway = Array.from({ length: 100 }, () => 0);
    const samples = [
      { t: 0, accepted: 0 },
      { t: 200, accepted: 40 },
      { t: 400, accepted: 80 }, // backlog 20 from here: left out
      { t: 1400, accepted: 100 },
    ];
    expect(busyDispatchRate(samples, gateway, 30)).toEqual({ perSecond: 200, busyMs: 400, sent: 80 });
  });

  it('is zero when the queue never held the backlog asked for', () => {
    expect(busyDispatchRate([{ t: 0, accepted: 0 }, { t: 200, accepted: 5 }], [0, 0, 0, 0, 0], 10)).toEqual({ perSecond: 0, busyMs: 0, sent: 0 });
  });
});
