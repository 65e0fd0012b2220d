/**
 * jest globalSetup when the real-Zabbix suites run (jest.config.js): gives the run its own Zabbix
 * (ZABBIX_RUN_ID → its own work dir, database and ports: scripts/zabbix/run.sh) unless the caller
 * (scripts/e2e.sh) already did. The suites' own scripts/zabbix-up.sh calls then find the same
 * one; e2e-teardown.js stops and removes it. Workers inherit these variables.
 */
const { randomBytes } = require('node:crypto');

module.exports = async function e2eSetup() {
  if (process.env.ZABBIX_RUN_ID) return;
  const id = `j${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  process.env.ZABBIX_RUN_ID = id;
  process.env.ZABBIX_WORKDIR = `/tmp/zbx-e2e-${id}`;
  process.env.SRE_BOT_E2E_RUN_OWNED = '1';
  // Nothing starts here: the first suite's scripts/zabbix-up.sh brings the run's Zabbix up (none when no e2e suite is selected).
};
