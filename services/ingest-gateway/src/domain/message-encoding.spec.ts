import { checkText, measureText, measureWithCalculator } from './message-encoding';

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

describe('the plain-ASCII fast path', () => {
  const alphabet = 'abcXYZ0129 \n\r!"#$%&\'()*+,-./:;<=>?@_';
  it('agrees with the calculator around every segment boundary up to 10 segments and on random texts', () => {
    const lengths = [...Array(170).keys()];
    for (let k = 2; k <= 10; k++) for (let n = 153 * (k - 1) - 3; n <= 153 * (k - 1) + 3; n++) lengths.push(n);
    for (const n of lengths) {
      const text = 'a'.repeat(n);
      expect({ n, ...measureText(text) }).toEqual({ n, ...measureWithCalculator(text) });
    }
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 100; i++) {
      const length = Math.floor(random() * 700);
      const text = Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      expect({ text, ...measureText(text) }).toEqual({ text, ...measureWithCalculator(text) });
    }
  });

  it.each(['€', '[', '~', '`', 'é', '😀'])('leaves texts with %s to the calculator', (ch) => {
    const text = `price ${ch} 10`;
    expect(measureText(text)).toEqual(measureWithCalculator(text));
  });
});
