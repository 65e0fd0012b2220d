'use strict';
// Minimal Zabbix JSON-RPC client for the e2e scripts (Node >= 18 built-ins only).

const fs = require('node:fs');
const path = require('node:path');

function versionAtLeast(version, wanted) {
  const a = String(version).split('.').map(Number);
  const b = String(wanted).split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] || 0;
    const y = b[i] || 0;
    if (x !== y) return x > y;
  }
  return true;
}

class ZabbixApi {
  /** @param {string} baseUrl e.g. http://127.0.0.1:8089 (api_jsonrpc.php is appended) */
  constructor(baseUrl, { timeoutMs = 30000 } = {}) {
    this.endpoint = baseUrl.replace(/\/+$/, '').replace(/\/api_jsonrpc\.php$/, '') + '/api_jsonrpc.php';
    this.timeoutMs = timeoutMs;
    this.auth = null;
    this.version = null;
    this.nextId = 1;
  }

  async request(method, params, auth) {
    const body = { jsonrpc: '2.0', method, params: params === undefined ? {} : params, id: this.nextId++ };
    const headers = { 'Content-Type': 'application/json-rpc' };
    if (auth) {
      // 6.0 only accepts the "auth" body field; 6.4+ accepts Bearer; 7.2+ rejects the body field.
      if (this.version && versionAtLeast(this.version, '6.4')) headers.Authorization = `Bearer ${auth}`;
      else body.auth = auth;
    }
    const res = await fetch(this.endpoint, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`${method}: HTTP ${res.status}, not JSON: ${text.slice(0, 300)}`);
    }
    if (json.error) {
      const e = new Error(`${method}: ${json.error.message} ${json.error.data || ''}`.trim());
      e.zabbix = json.error;
      throw e;
    }
    return json.result;
  }

  async apiVersion() {
    this.version = await this.request('apiinfo.version', {});
    return this.version;
  }

  async login(user, password) {
    if (!this.version) await this.apiVersion();
    // 5.4 renamed user.login's "user" to "username"; 6.0 accepts both, 6.4 removed "user".
    const params = versionAtLeast(this.version, '5.4') ? { username: user, password } : { user, password };
    this.auth = await this.request('user.login', params);
    return this.auth;
  }

  useToken(token) {
    this.auth = token;
  }

  call(method, params) {
    if (!this.auth) throw new Error(`${method}: not authenticated`);
    return this.request(method, params, this.auth);
  }
}

function workdir() {
  return process.env.ZABBIX_WORKDIR || '/tmp/zbx-e2e';
}

function envJsonPath(dir = workdir()) {
  return path.join(dir, 'env.json');
}

function readEnvJson(dir = workdir()) {
  return JSON.parse(fs.readFileSync(envJsonPath(dir), 'utf8'));
}

function writeFileAtomic(file, content) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o644 });
  fs.renameSync(tmp, file);
}

module.exports = { ZabbixApi, versionAtLeast, workdir, envJsonPath, readEnvJson, writeFileAtomic };
