#!/usr/bin/env node
'use strict';
// Point the "Zulip e2e" webhook media type at another URL (e.g. a fake Zulip on a random port).
//   node scripts/zabbix/set-webhook-url.js 'http://127.0.0.1:PORT/api/v1/external/zabbix?api_key=K&stream=S'
// Reads $ZABBIX_WORKDIR/env.json (default /tmp/zbx-e2e) written by zabbix-up.sh.
// From code: const { setWebhookUrl } = require('./scripts/zabbix/set-webhook-url.js'); await setWebhookUrl(url);

const { execFile } = require('node:child_process');
const { ZabbixApi, workdir, readEnvJson, envJsonPath, writeFileAtomic } = require('./lib.js');

async function setWebhookUrl(url, { dir = workdir() } = {}) {
  if (!/^https?:\/\//.test(url || '')) throw new Error(`not an http(s) URL: ${url}`);
  const env = readEnvJson(dir);
  const api = new ZabbixApi(env.url);
  await api.apiVersion();
  api.useToken(env.token);
  const [mt] = await api.call('mediatype.get', { output: ['mediatypeid', 'parameters'], mediatypeids: env.mediaTypeId });
  if (!mt) throw new Error(`media type ${env.mediaTypeId} not found (re-run scripts/zabbix-up.sh)`);
  const params = (mt.parameters || []).filter((p) => p.name !== 'URL').map(({ name, value }) => ({ name, value }));
  params.push({ name: 'URL', value: url });
  await api.call('mediatype.update', { mediatypeid: env.mediaTypeId, parameters: params });
  env.webhookUrl = url;
  writeFileAtomic(envJsonPath(dir), JSON.stringify(env, null, 2) + '\n');
  // The alert manager reads media types from the DB, so no reload is needed; reload anyway (cheap)
  // so the server's view is fresh for whatever the test does next.
  if (env.serverConf) {
    await new Promise((resolve) => {
      execFile('zabbix_server', ['-c', env.serverConf, '-R', 'config_cache_reload'], { env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` } }, () => resolve());
    });
  }
  return env;
}

module.exports = { setWebhookUrl };

if (require.main === module) {
  const url = process.argv[2];
  if (!url) {
    process.stderr.write('usage: set-webhook-url.js URL\n');
    process.exit(2);
  }
  setWebhookUrl(url)
    .then(() => process.stderr.write(`set-webhook-url: webhook URL = ${url}\n`))
    .catch((err) => {
      process.stderr.write(`set-webhook-url: ERROR: ${err.message}\n`);
      process.exit(1);
    });
}
