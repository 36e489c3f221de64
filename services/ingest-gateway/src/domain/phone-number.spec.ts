import { normalizePhone } from './phone-number';

describe('normalizePhone', () => {
  it.each([
    ['01921317475', 'BD', '+8801921317475'],
    ['+8801921317475', 'BD', '+8801921317475'],
    ['8801921317475', 'BD', '+8801921317475'],
    ['+880 1921-317475', 'BD', '+8801921317475'],
    ['(202) 555-0143', 'US', '+12025550143'],
  ])('reads %s in region %s as %s', (given, region, e164) => {
    expect(normalizePhone(given, region)).toBe(e164);
  });

  it.each([
    ['123', /not a possible phone number \(too short/],
    ['019213174751234567', /not a possible phone number \(too long/],
    ['+8800000000000', /not a valid phone number/],
    ['0192-131-747a', /only digits/],
    ['+', /only digits|not a phone number/],
  ])('refuses %s with SMS.INVALID_PHONE and says why', (given, why) => {
    expect(() => normalizePhone(given, 'BD')).toThrow(expect.objectContaining({ code: 'SMS.INVALID_PHONE', field: 'phone', message: expect.stringMatching(why) }));
  });
});
