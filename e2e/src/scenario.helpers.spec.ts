import { maxInAnyWindow } from './scenario.helpers';

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
