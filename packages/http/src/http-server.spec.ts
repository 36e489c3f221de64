import http from 'node:http';
import { listen } from './http-server';

function get(agent: http.Agent, url: string): Promise<{ status: number; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
      })
      .on('error', reject);
  });
}

describe('listen().close()', () => {
  it('answers a request sent on an idle keep-alive socket just after close began, then closes', async () => {
    const running = await listen((_req, res) => setTimeout(() => res.end('ok'), 20), 0, '127.0.0.1');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await get(agent, `${running.url}/a`)).status).toBe(200);
      const closed = running.close(300);
      // The socket is idle and open: a plain http.Server.close() would reset this request.
      const late = await get(agent, `${running.url}/b`);
      expect(late).toEqual({ status: 200, connection: 'close' });
      await closed;
      await expect(get(new http.Agent(), `${running.url}/c`)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      agent.destroy();
    }
  });

  it('is idempotent', async () => {
    const running = await listen((_req, res) => res.end(), 0, '127.0.0.1');
    await Promise.all([running.close(0), running.close(0)]);
    expect(running.server.listening).toBe(false);
  });
});
