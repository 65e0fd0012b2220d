#!/usr/bin/env node
'use strict';
// Idempotently provision the e2e objects in a running Zabbix 6.0 and write $ZABBIX_WORKDIR/env.json.
// Called by scripts/zabbix-up.sh; can be run on its own against a running server.
//
// Env: ZABBIX_API_URL (default http://127.0.0.1:$ZABBIX_WEB_PORT), ZABBIX_WEB_PORT (8089),
//      ZABBIX_WORKDIR (/tmp/zbx-e2e), ZABBIX_E2E_HOST (web-01.example.org),
//      ZULIP_WEBHOOK_URL (kept as is on re-runs when unset), ZABBIX_PUBLIC_URL (value of {$ZABBIX_URL}),
//      ZABBIX_SERVER_PORT (10051), ZABBIX_SERVER_CONF, ZABBIX_ADMIN_USER / ZABBIX_ADMIN_PASSWORD (Admin / zabbix).

const fs = require('node:fs');
const path = require('node:path');
const { ZabbixApi, workdir, envJsonPath, writeFileAtomic } = require('./lib.js');

const WEB_PORT = process.env.ZABBIX_WEB_PORT || '8089';
const API_URL = process.env.ZABBIX_API_URL || `http://127.0.0.1:${WEB_PORT}`;
const PUBLIC_URL = (process.env.ZABBIX_PUBLIC_URL || API_URL).replace(/\/+$/, '');
const WORKDIR = workdir();
const HOST = process.env.ZABBIX_E2E_HOST || 'web-01.example.org';
const SERVER_PORT = Number(process.env.ZABBIX_SERVER_PORT || 10051);
const SERVER_CONF = process.env.ZABBIX_SERVER_CONF || path.join(WORKDIR, 'zabbix_server.conf');
const ADMIN_USER = process.env.ZABBIX_ADMIN_USER || 'Admin';
const ADMIN_PASSWORD = process.env.ZABBIX_ADMIN_PASSWORD || 'zabbix';
const WEBHOOK_URL_ENV = process.env.ZULIP_WEBHOOK_URL || '';
// Port 9 (discard) on loopback: nothing listens, alerts fail fast until a real URL is set.
const WEBHOOK_URL_PLACEHOLDER = 'http://127.0.0.1:9/unset-ZULIP_WEBHOOK_URL';

const GROUP = 'SRE e2e';
const ITEM_KEY = 'e2e.status';
const PING_KEY = 'e2e.ping';
const TRIGGER_NAME = 'E2E service is down on {HOST.NAME}';
const MEDIA_TYPE = 'Zulip e2e';
const ACTION = 'Zulip e2e';
const TOKEN_NAME = 'zulip-sre-bot e2e';
const NOTIFY_USER = process.env.ZABBIX_NOTIFY_USER || 'zulip-e2e';
const NOTIFY_GROUP = 'SRE e2e notify';

// The e2e media type is the project's own artifact: zabbix/zulip-media-type.yaml, imported into
// Zabbix as is (configuration.import: Zabbix's own YAML reader, so the test sees exactly what a
// user's import gives), then its parameters, script, timeout and message templates are copied onto
// the e2e media type, with the e2e URL and retry settings.
const MEDIA_TYPE_FILE = path.join(__dirname, '..', '..', 'zabbix', 'zulip-media-type.yaml');

function log(msg) {
  process.stderr.write(`provision: ${msg}\n`);
}

async function projectMediaType(api) {
  const source = fs.readFileSync(MEDIA_TYPE_FILE, 'utf8');
  const m = /^\s*media_types:\s*\n\s*-\s*name:\s*(?:'((?:[^']|'')*)'|"([^"]*)"|(\S[^\n]*?))\s*$/m.exec(source);
  if (!m) throw new Error(`${MEDIA_TYPE_FILE}: no media type name found`);
  const name = m[1] !== undefined ? m[1].replace(/''/g, "'") : (m[2] ?? m[3]);
  await api.call('configuration.import', {
    format: 'yaml',
    rules: { mediaTypes: { createMissing: true, updateExisting: true } },
    source,
  });
  const mt = await one(api, 'mediatype.get', {
    output: ['mediatypeid', 'type', 'script', 'parameters', 'timeout'],
    selectMessageTemplates: 'extend',
    filter: { name },
  });
  if (!mt || mt.type !== '4') throw new Error(`importing ${MEDIA_TYPE_FILE} gave no webhook media type "${name}"`);
  return {
    name,
    script: mt.script,
    timeout: mt.timeout,
    parameters: (mt.parameters || []).map(({ name: n, value }) => ({ name: n, value })),
    message_templates: (mt.message_templates || []).map(({ eventsource, recovery, subject, message }) => ({ eventsource, recovery, subject, message })),
  };
}

async function one(api, method, params) {
  const rows = await api.call(method, params);
  return rows.length ? rows[0] : null;
}

async function ensureGlobalMacro(api, macro, value) {
  const cur = await one(api, 'usermacro.get', { globalmacro: true, output: 'extend', filter: { macro } });
  if (!cur) {
    await api.call('usermacro.createglobal', { macro, value });
    log(`created global macro ${macro}`);
  } else if (cur.value !== value) {
    await api.call('usermacro.updateglobal', { globalmacroid: cur.globalmacroid, value });
    log(`updated global macro ${macro}`);
  }
}

// The stock "Zabbix server" host polls an agent on 127.0.0.1:10050 that is not running here:
// disable it to save CPU and log noise.
async function disableDefaultHost(api) {
  const cur = await one(api, 'host.get', { output: ['hostid', 'status'], filter: { host: ['Zabbix server'] } });
  if (cur && cur.status !== '1' && HOST !== 'Zabbix server') {
    await api.call('host.update', { hostid: cur.hostid, status: 1 });
    log('disabled the stock "Zabbix server" host');
  }
}

async function ensureHostGroup(api) {
  const cur = await one(api, 'hostgroup.get', { output: ['groupid'], filter: { name: [GROUP] } });
  if (cur) return cur.groupid;
  const r = await api.call('hostgroup.create', { name: GROUP });
  log(`created host group ${GROUP}`);
  return r.groupids[0];
}

async function ensureHost(api, groupid) {
  const cur = await one(api, 'host.get', {
    output: ['hostid', 'status'],
    selectGroups: ['groupid'],
    filter: { host: [HOST] },
  });
  if (!cur) {
    const r = await api.call('host.create', {
      host: HOST,
      groups: [{ groupid }],
      interfaces: [{ type: 1, main: 1, useip: 1, ip: '127.0.0.1', dns: '', port: '10050' }],
      status: 0,
    });
    log(`created host ${HOST}`);
    return r.hostids[0];
  }
  const groups = cur.groups.map((g) => g.groupid);
  if (cur.status !== '0' || !groups.includes(groupid)) {
    await api.call('host.update', {
      hostid: cur.hostid,
      status: 0,
      groups: [...new Set([...groups, groupid])].map((id) => ({ groupid: id })),
    });
    log(`updated host ${HOST}`);
  }
  return cur.hostid;
}

async function ensureItem(api, hostid, key = ITEM_KEY, name = 'E2E service status') {
  const want = { name, type: '2', value_type: '3', history: '1d', trends: '0', status: '0' };
  const cur = await one(api, 'item.get', {
    output: ['itemid', ...Object.keys(want)],
    hostids: hostid,
    filter: { key_: key },
  });
  if (!cur) {
    const r = await api.call('item.create', { ...want, key_: key, hostid, trapper_hosts: '' });
    log(`created item ${key}`);
    return r.itemids[0];
  }
  if (Object.entries(want).some(([k, v]) => cur[k] !== v)) {
    await api.call('item.update', { itemid: cur.itemid, ...want });
    log(`updated item ${key}`);
  }
  return cur.itemid;
}

async function ensureTrigger(api, hostid) {
  const expression = `last(/${HOST}/${ITEM_KEY})=0`;
  const want = { priority: '4', manual_close: '1', status: '0', type: '0' };
  const cur = await one(api, 'trigger.get', {
    output: ['triggerid', 'expression', ...Object.keys(want)],
    expandExpression: true,
    hostids: hostid,
    filter: { description: TRIGGER_NAME },
  });
  if (!cur) {
    const r = await api.call('trigger.create', { description: TRIGGER_NAME, expression, ...want });
    log('created trigger');
    return r.triggerids[0];
  }
  // Only touch it when something differs: rewriting the expression would disturb an open problem.
  const patch = {};
  if (cur.expression !== expression) patch.expression = expression;
  for (const [k, v] of Object.entries(want)) if (cur[k] !== v) patch[k] = v;
  if (Object.keys(patch).length) {
    await api.call('trigger.update', { triggerid: cur.triggerid, ...patch });
    log(`updated trigger (${Object.keys(patch).join(', ')})`);
  }
  return cur.triggerid;
}

async function ensureMediaType(api) {
  const project = await projectMediaType(api);
  if (!project.parameters.some((p) => p.name === 'URL')) throw new Error(`${MEDIA_TYPE_FILE}: the media type has no URL parameter`);
  const cur = await one(api, 'mediatype.get', { output: 'extend', filter: { name: MEDIA_TYPE } });
  const oldUrl = cur && (cur.parameters || []).find((p) => p.name === 'URL');
  const url = WEBHOOK_URL_ENV || (oldUrl && oldUrl.value) || WEBHOOK_URL_PLACEHOLDER;
  const want = {
    name: MEDIA_TYPE,
    type: 4,
    status: 0,
    script: project.script,
    timeout: project.timeout,
    process_tags: 0,
    show_event_menu: 0,
    maxsessions: 1,
    maxattempts: 3,
    attempt_interval: '5s',
    description: `zulip-sre-bot e2e: ${path.relative(path.join(__dirname, '..', '..'), MEDIA_TYPE_FILE)} ("${project.name}") with the e2e URL (scripts/zabbix/provision.js)`,
    parameters: project.parameters.map((p) => (p.name === 'URL' ? { name: 'URL', value: url } : p)),
    message_templates: project.message_templates,
  };
  let id;
  if (!cur) {
    id = (await api.call('mediatype.create', want)).mediatypeids[0];
    log(`created media type ${MEDIA_TYPE}`);
  } else {
    id = cur.mediatypeid;
    await api.call('mediatype.update', { mediatypeid: id, ...want });
  }
  if (!oldUrl || oldUrl.value !== url) log(`webhook URL = ${url}`);
  return { id, url };
}

// Zabbix never sends an update (acknowledge) notification to the user who made the update
// (escalator: "exclude acknowledgment author from the recipient list"). The bot acknowledges with
// Admin's token, so the webhook media belongs to a separate recipient user, as in a real setup.
async function ensureNotifyUser(api, groupid, mediatypeid) {
  let grp = await one(api, 'usergroup.get', { output: ['usrgrpid'], selectRights: 'extend', filter: { name: NOTIFY_GROUP } });
  const rights = [{ permission: 2, id: groupid }];
  if (!grp) {
    const r = await api.call('usergroup.create', { name: NOTIFY_GROUP, gui_access: 0, users_status: 0, rights });
    grp = { usrgrpid: r.usrgrpids[0] };
    log(`created user group ${NOTIFY_GROUP}`);
  } else if (!(grp.rights || []).some((x) => x.id === groupid && x.permission === '2')) {
    await api.call('usergroup.update', { usrgrpid: grp.usrgrpid, rights });
  }
  const role = await one(api, 'role.get', { output: ['roleid'], filter: { name: 'User role' } });
  if (!role) throw new Error('role "User role" not found');
  const media = { mediatypeid, sendto: 'zulip', active: 0, severity: 63, period: '1-7,00:00-24:00' };
  const cur = await one(api, 'user.get', { output: ['userid'], selectMedias: 'extend', filter: { username: NOTIFY_USER } });
  if (!cur) {
    const r = await api.call('user.create', {
      username: NOTIFY_USER,
      name: 'Zulip',
      surname: 'e2e',
      passwd: `Zbx-${require('node:crypto').randomBytes(12).toString('hex')}`,
      roleid: role.roleid,
      usrgrps: [{ usrgrpid: grp.usrgrpid }],
      medias: [media],
    });
    log(`created user ${NOTIFY_USER} with media ${MEDIA_TYPE}`);
    return r.userids[0];
  }
  const m = cur.medias || [];
  const ok =
    m.length === 1 &&
    m[0].mediatypeid === mediatypeid &&
    ['sendto', 'active', 'severity', 'period'].every((k) => String(m[0][k]) === String(media[k]));
  if (!ok) {
    await api.call('user.update', { userid: cur.userid, medias: [media], usrgrps: [{ usrgrpid: grp.usrgrpid }] });
    log(`reset media of ${NOTIFY_USER}`);
  }
  return cur.userid;
}

// Earlier versions of this script gave Admin the media: take it away (double posts otherwise).
async function adminUserId(api, mediatypeid) {
  const admin = await one(api, 'user.get', { output: ['userid'], selectMedias: 'extend', filter: { username: ADMIN_USER } });
  if (!admin) throw new Error(`user ${ADMIN_USER} not found`);
  const medias = admin.medias || [];
  if (medias.some((m) => m.mediatypeid === mediatypeid)) {
    const keep = medias
      .filter((m) => m.mediatypeid !== mediatypeid)
      .map(({ mediatypeid: t, sendto, active, severity, period }) => ({ mediatypeid: t, sendto, active, severity, period }));
    await api.call('user.update', { userid: admin.userid, medias: keep });
    log(`removed media ${MEDIA_TYPE} from ${ADMIN_USER}`);
  }
  return admin.userid;
}

async function ensureAction(api, { groupid, mediatypeid, userid }) {
  const msg = () => ({
    operationtype: 0,
    opmessage: { default_msg: 1, mediatypeid },
    opmessage_usr: [{ userid }],
  });
  const want = {
    name: ACTION,
    eventsource: 0,
    status: 0,
    esc_period: '1h',
    // Operations pause while a maintenance suppresses the problem (Zabbix's default for new actions):
    // a host in maintenance posts nothing (observed on 6.0.14: the problem is suppressed from its
    // creation once the host's maintenance is active; no PROBLEM, update or OK post).
    pause_suppressed: 1,
    notify_if_canceled: 1,
    filter: { evaltype: 0, conditions: [{ conditiontype: 0, operator: 0, value: groupid }] },
    operations: [{ ...msg(), esc_step_from: 1, esc_step_to: 1, esc_period: '0' }],
    recovery_operations: [msg()],
    update_operations: [msg()],
  };
  const cur = await one(api, 'action.get', { output: ['actionid'], filter: { name: ACTION } });
  if (!cur) {
    const r = await api.call('action.create', want);
    log(`created action ${ACTION}`);
    return r.actionids[0];
  }
  const { eventsource, ...upd } = want; // eventsource cannot be updated
  await api.call('action.update', { actionid: cur.actionid, ...upd });
  return cur.actionid;
}

async function tokenWorks(token) {
  const probe = new ZabbixApi(API_URL);
  await probe.apiVersion();
  probe.useToken(token);
  try {
    await probe.call('host.get', { output: ['hostid'], limit: 1 });
    return true;
  } catch {
    return false;
  }
}

async function ensureToken(api, userid) {
  const cur = await one(api, 'token.get', {
    output: ['tokenid', 'status', 'expires_at'],
    userids: userid,
    filter: { name: TOKEN_NAME },
  });
  if (cur) {
    try {
      const prev = JSON.parse(fs.readFileSync(envJsonPath(WORKDIR), 'utf8'));
      if (prev.token && prev.tokenId === cur.tokenid && (await tokenWorks(prev.token))) {
        return { tokenid: cur.tokenid, token: prev.token };
      }
    } catch {
      /* no usable env.json: regenerate */
    }
    if (cur.status !== '0' || cur.expires_at !== '0') {
      await api.call('token.update', { tokenid: cur.tokenid, status: 0, expires_at: 0 });
    }
  }
  const tokenid = cur ? cur.tokenid : (await api.call('token.create', { name: TOKEN_NAME, userid, status: 0, expires_at: 0 })).tokenids[0];
  const [gen] = await api.call('token.generate', [tokenid]);
  log(cur ? 'regenerated API token' : 'created API token');
  return { tokenid, token: gen.token };
}

async function main() {
  const api = new ZabbixApi(API_URL);
  const version = await api.apiVersion();
  await api.login(ADMIN_USER, ADMIN_PASSWORD);
  try {
    await ensureGlobalMacro(api, '{$ZABBIX_URL}', PUBLIC_URL);
    await disableDefaultHost(api);
    const groupid = await ensureHostGroup(api);
    const hostid = await ensureHost(api, groupid);
    const itemid = await ensureItem(api, hostid);
    // No trigger on it: zabbix-up.sh sends to it to know the server's config cache has the host.
    await ensureItem(api, hostid, PING_KEY, 'E2E readiness probe');
    const triggerid = await ensureTrigger(api, hostid);
    const media = await ensureMediaType(api);
    const userid = await adminUserId(api, media.id);
    const notifyUserId = await ensureNotifyUser(api, groupid, media.id);
    const actionid = await ensureAction(api, { groupid, mediatypeid: media.id, userid: notifyUserId });
    const { tokenid, token } = await ensureToken(api, userid);

    const env = {
      url: API_URL,
      apiUrl: `${API_URL}/api_jsonrpc.php`,
      version,
      token,
      tokenId: tokenid,
      user: ADMIN_USER,
      userId: userid,
      notifyUser: NOTIFY_USER,
      notifyUserId,
      hostName: HOST,
      hostId: hostid,
      hostGroupId: groupid,
      itemKey: ITEM_KEY,
      itemId: itemid,
      pingItemKey: PING_KEY,
      triggerId: triggerid,
      triggerName: TRIGGER_NAME.replace('{HOST.NAME}', HOST),
      mediaTypeId: media.id,
      webhookUrl: media.url,
      actionId: actionid,
      serverConf: SERVER_CONF,
      serverHost: '127.0.0.1',
      serverPort: SERVER_PORT,
      workdir: WORKDIR,
    };
    fs.mkdirSync(WORKDIR, { recursive: true });
    writeFileAtomic(envJsonPath(WORKDIR), JSON.stringify(env, null, 2) + '\n');
    log(`wrote ${envJsonPath(WORKDIR)}`);
  } finally {
    await api.call('user.logout', []).catch(() => {});
  }
}

main().catch((err) => {
  process.stderr.write(`provision: ERROR: ${err.stack || err}\n`);
  process.exit(1);
});
