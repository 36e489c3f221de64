import { checkText, measureText } from './message-encoding';

describe('measureText', () => {
  it.each([
    ['a'.repeat(160), 'GSM-7', 1],
    ['a'.repeat(161), 'GSM-7', 2],
    ['a'.repeat(306), 'GSM-7', 2],
    ['a'.repeat(307), 'GSM-7', 3],
    ['{}'.repeat(40), 'GSM-7', 1], // 80 extension characters = 160 septets
    ['{}'.repeat(40) + 'a', 'GSM-7', 2],
    ['ж'.repeat(70), 'UCS-2', 1],
    ['ж'.repeat(71), 'UCS-2', 2],
    ['ж'.repeat(134), 'UCS-2', 2],
    ['ж'.repeat(135), 'UCS-2', 3],
    ['😀'.repeat(35), 'UCS-2', 1], // an emoji is two UTF-16 units
    ['😀'.repeat(36), 'UCS-2', 2],
  ])('measures a text of %#: %s', (text, encoding, segments) => {
    expect(measureText(text)).toEqual({ encoding, segments });
  });
});

describe('checkText', () => {
  it('refuses a blank text with SMS.EMPTY_TEXT', () => {
    expect(() => checkText(' \n ', 10)).toThrow(expect.objectContaining({ code: 'SMS.EMPTY_TEXT', field: 'text' }));
  });
  it('refuses more than maxSegments with SMS.TOO_MANY_SEGMENTS and the count', () => {
    expect(() => checkText('a'.repeat(161), 1)).toThrow(
      expect.objectContaining({ code: 'SMS.TOO_MANY_SEGMENTS', details: { segments: 2, max_segments: 1, encoding: 'GSM-7' } }),
    );
  });
});
