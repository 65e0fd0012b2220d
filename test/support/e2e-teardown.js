/** jest globalTeardown: stops and removes the Zabbix run that e2e-setup.js made (not with E2E_KEEP=1). */
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');

module.exports = async function e2eTeardown() {
  if (process.env.SRE_BOT_E2E_RUN_OWNED !== '1' || !existsSync(process.env.ZABBIX_WORKDIR || '/nonexistent')) return;
  if (process.env.E2E_KEEP === '1') {
    process.stderr.write(`e2e: kept Zabbix run ${process.env.ZABBIX_RUN_ID} (E2E_KEEP=1); stop it with ZABBIX_RUN_ID=${process.env.ZABBIX_RUN_ID} bash scripts/zabbix-down.sh --purge\n`);
    return;
  }
  const r = spawnSync('bash', [join(__dirname, '../../scripts/zabbix-down.sh'), '--purge'], { stdio: ['ignore', 'inherit', 'inherit'], env: process.env, timeout: 120_000 });
  if (r.status !== 0) process.stderr.write(`e2e: scripts/zabbix-down.sh exited ${r.status}\n`);
};
