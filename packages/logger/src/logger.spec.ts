import { Writable } from 'node:stream';
import winston from 'winston';
import { createLogger } from './create-logger';
import { maskPhone } from './mask';
import { RequestContext } from './request-context';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  return { lines, transport: new winston.transports.Stream({ stream }) };
}

describe('createLogger', () => {
  it('writes JSON lines with service, version and the request and message ids of the current context', () => {
    const { lines, transport } = capture();
    const context = new RequestContext();
    const logger = createLogger({ service: 'gw', version: '1.2.3', level: 'info', context, transports: [transport] });
    context.run({ requestId: 'req-1' }, () => context.run({ messageId: 'msg-1' }, () => logger.info('hello')));
    expect(lines[0]).toMatchObject({ message: 'hello', level: 'info', service: 'gw', version: '1.2.3', request_id: 'req-1', message_id: 'msg-1' });
    expect(typeof lines[0].timestamp).toBe('string');
  });

  it('masks phone numbers and hides secrets in log metadata', () => {
    const { lines, transport } = capture();
    const logger = createLogger({ service: 'gw', version: '1', level: 'info', transports: [transport] });
    logger.info('sent', { phone: '+8801921317475', headers: { authorization: 'Bearer abc', 'x-api-key': 'k' } });
    expect(JSON.stringify(lines[0])).not.toContain('1921317475');
    expect(JSON.stringify(lines[0])).not.toContain('abc');
    expect(lines[0]).toMatchObject({ phone: '+88019*****475', headers: { authorization: '[redacted]', 'x-api-key': '[redacted]' } });
  });
});

describe('maskPhone', () => {
  it('keeps the country prefix and the last three digits only', () => {
    expect(maskPhone('+8801921317475')).toBe('+88019*****475');
    expect(maskPhone('12345')).toBe('*****');
  });
});
