import { ConfigError, loadConfig, pickEnv } from './load-config';
import { providerSettings, sqlitePath } from './derived';

describe('loadConfig', () => {
  const schema = pickEnv('PROVIDER_RATE_LIMIT', 'TOTAL_RATE_LIMIT', 'REDIS_URL', 'HEALTH_FAILURE_THRESHOLD', 'API_KEYS');

  it('applies the defaults when nothing is set', () => {
    expect(loadConfig(schema, {})).toEqual({
      PROVIDER_RATE_LIMIT: 50,
      TOTAL_RATE_LIMIT: 200,
      REDIS_URL: 'redis://127.0.0.1:6379',
      HEALTH_FAILURE_THRESHOLD: 0.5,
      API_KEYS: [],
    });
  });

  it('names the variable and the bad value when PROVIDER_RATE_LIMIT=abc', () => {
    expect(() => loadConfig(schema, { PROVIDER_RATE_LIMIT: 'abc' })).toThrow(
      /PROVIDER_RATE_LIMIT expected a number \(got "abc"\)/,
    );
  });

  it('names every bad variable at once', () => {
    try {
      loadConfig(schema, { PROVIDER_RATE_LIMIT: '0', REDIS_URL: 'http://x', HEALTH_FAILURE_THRESHOLD: '2' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.map((p) => p.variable).sort()).toEqual([
        'HEALTH_FAILURE_THRESHOLD',
        'PROVIDER_RATE_LIMIT',
        'REDIS_URL',
      ]);
    }
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig(schema, { TOTAL_RATE_LIMIT: '' }).TOTAL_RATE_LIMIT).toBe(200);
  });

  it('splits comma-separated lists and drops blanks', () => {
    expect(loadConfig(schema, { API_KEYS: ' a, b ,,c ' }).API_KEYS).toEqual(['a', 'b', 'c']);
  });
});

describe('derived settings', () => {
  it('gives each provider its own limit when set, else the shared one, and its weight', () => {
    const env = loadConfig(pickEnv('PROVIDER1_URL', 'PROVIDER2_URL', 'PROVIDER3_URL', 'PROVIDER_RATE_LIMIT', 'PROVIDER2_RATE_LIMIT', 'PROVIDER1_RATE_LIMIT', 'PROVIDER3_RATE_LIMIT', 'PROVIDER_WEIGHTS'), {
      PROVIDER2_RATE_LIMIT: '10',
      PROVIDER_WEIGHTS: '2,1,1',
    });
    expect(providerSettings(env).map((p) => [p.id, p.ratePerSecond, p.weight])).toEqual([
      ['provider1', 50, 2],
      ['provider2', 10, 1],
      ['provider3', 50, 1],
    ]);
  });

  it('reads both the file: and the original sqlite:/// database URL forms', () => {
    expect(sqlitePath('file:./data/twillow.db')).toBe('./data/twillow.db');
    expect(sqlitePath('sqlite:///./data/sms_gateway.db')).toBe('./data/sms_gateway.db');
  });
});
