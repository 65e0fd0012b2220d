import { startHttp } from './http';
import { check, portFromConfig } from './healthcheck';

test('the port comes from the config; without one the check says so', () => {
  expect(portFromConfig('{"http":{"port":9100}}')).toBe(9100);
  expect(portFromConfig('{"http":{}}')).toMatch(/^http\.port is not set/);
  expect(portFromConfig('{"http":{"port":0}}')).toMatch(/^http\.port is not set/);
  expect(portFromConfig('{')).toMatch(/^the config is not JSON/);
});

test('200 is healthy, 503 and no answer are not', async () => {
  let ok = true;
  const server = await startHttp(0, { health: () => ({ ok, status: ok ? 'live' : 'starting' }), metrics: async () => ({ contentType: 'text/plain', body: '' }) });
  try {
    expect(await check(server.port)).toEqual({ ok: true, line: '200 {"ok":true,"status":"live"}' });
    ok = false;
    expect(await check(server.port)).toEqual({ ok: false, line: '503 {"ok":false,"status":"starting"}' });
  } finally {
    await server.close();
  }
  expect((await check(server.port)).ok).toBe(false);
});
