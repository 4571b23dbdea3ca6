/**
 * Grafana access for operators: the `observability:grafana` hub key (operator ranges, TLS,
 * generic OAuth) is validated before anything is registered, and the rendered grafana.ini
 * logs in through the identity provider only when SSO is on. Keys from Grafana's
 * "Configure generic OAuth2 authentication" and "Configure authentication" pages
 * (https://grafana.com/docs/grafana/latest/setup-grafana/configure-access/configure-authentication/generic-oauth/).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { knownStacks, readStackFile, validateStackConfig, type ConfigIssue, type HubConfig } from "../components/config";
import { REPO_DIR } from "../offline";
import { GRAFANA_OAUTH_SECRET_ENV, grafanaAuthIni, grafanaValues, type GrafanaSso } from "../components/workloads/values";

function validate(mutate: (v: Record<string, unknown>, secret: Set<string>) => void): { issues: ConfigIssue[]; config?: HubConfig } {
  const f = readStackFile(REPO_DIR, "ops-01");
  const values = structuredClone(f.values);
  const secretKeys = new Set(f.secretKeys);
  mutate(values, secretKeys);
  const r = validateStackConfig(values, { stack: "ops-01", secretKeys, knownStacks: knownStacks(REPO_DIR) });
  return r.ok ? { issues: [], config: r.config as HubConfig } : { issues: r.issues };
}

const SSO = { authUrl: "https://idp.example.eu/auth", tokenUrl: "https://idp.example.eu/token", apiUrl: "https://idp.example.eu/userinfo", clientId: "grafana", clientSecret: "s3cret-value" };

describe("config: observability:grafana", () => {
  it("defaults: not exposed, hub-CA certificate, no SSO", () => {
    const r = validate(() => undefined);
    assert.deepEqual(r.issues, []);
    assert.deepEqual(r.config?.grafana, { operatorCidrs: [], tls: {} });
  });

  it("accepts operator ranges, an existing TLS Secret and SSO whose secret is a Pulumi secret", () => {
    const r = validate((v, s) => {
      v.grafana = { operatorCidrs: ["198.18.0.0/24"], tls: { existingSecret: "grafana-public-tls" }, sso: { ...SSO, allowedGroups: ["ops"], groupsAttributePath: "groups" } };
      s.add("observability:grafana");
    });
    assert.deepEqual(r.issues, []);
    assert.deepEqual(r.config?.grafana.sso?.scopes, ["openid", "email", "profile"]);
  });

  const refused: [string, (v: Record<string, unknown>, s: Set<string>) => void, string, RegExp][] = [
    ["the whole internet", (v) => { v.grafana = { operatorCidrs: ["0.0.0.0/0"] }; }, "observability:grafana.operatorCidrs[0]", /not the whole internet/],
    ["a bare address", (v) => { v.grafana = { operatorCidrs: ["198.18.0.1"] }; }, "observability:grafana.operatorCidrs[0]", /CIDR/],
    ["an IPv6 range (the load balancers are IPv4)", (v) => { v.grafana = { operatorCidrs: ["2001:db8::/32"] }; }, "observability:grafana.operatorCidrs[0]", /IPv4/],
    ["a plain-HTTP token URL", (v, s) => { v.grafana = { sso: { ...SSO, tokenUrl: "http://idp/token" } }; s.add("observability:grafana"); }, "observability:grafana.sso.tokenUrl", /https/],
    ["allowedGroups without groupsAttributePath", (v, s) => { v.grafana = { sso: { ...SSO, allowedGroups: ["ops"] } }; s.add("observability:grafana"); }, "observability:grafana.sso", /groupsAttributePath/],
    ["a client secret in plain text", (v) => { v.grafana = { sso: SSO }; }, "observability:grafana.sso.clientSecret", /must be a secret/],
  ];
  for (const [what, mutate, key, message] of refused) {
    it(`refuses ${what}, naming ${key}`, () => {
      const r = validate(mutate);
      const hit = r.issues.find((i) => i.key === key);
      assert.ok(hit !== undefined, `expected an issue at ${key}, got ${JSON.stringify(r.issues)}`);
      assert.match(hit.message, message);
    });
  }
});

const sso: GrafanaSso = { name: "Keycloak", authUrl: SSO.authUrl, tokenUrl: SSO.tokenUrl, apiUrl: SSO.apiUrl, clientId: "grafana", scopes: ["openid", "email"], allowedGroups: ["observability operators"], groupsAttributePath: "groups", roleAttributePath: "contains(groups[*], 'admins') && 'Admin' || 'Viewer'", clientSecretRef: { name: "grafana-oauth", key: "client-secret" } };

describe("grafana.ini: generic OAuth", () => {
  it("SSO on: [auth.generic_oauth] from config, local login form and basic auth off", () => {
    const ini = grafanaAuthIni(sso);
    assert.deepEqual(ini.auth, { disable_login_form: true });
    assert.deepEqual(ini["auth.basic"], { enabled: false });
    const o = ini["auth.generic_oauth"] as Record<string, unknown>;
    assert.equal(o.enabled, true);
    assert.equal(o.scopes, "openid email");
    assert.equal(o.allowed_groups, JSON.stringify(["observability operators"]));
    assert.equal(o.role_attribute_strict, true);
    assert.equal(o.client_secret, undefined, "the client secret comes from the environment, not the ini");
  });

  it("SSO off: no auth sections, the generated admin login stays", () => {
    assert.deepEqual(grafanaAuthIni(undefined), {});
  });

  it("values: HTTPS on Grafana itself with the mounted certificate, client secret only as a secretKeyRef", () => {
    const v = grafanaValues({ profile: "small", admin: { existingSecret: "a", userKey: "u", passwordKey: "p" }, rootUrl: "https://g.example.eu", queryFrontendUrl: "http://q:10902", clientTls: { certPem: "c", keyPem: "k" }, spokes: [], spokeNamespace: "observability", tlsSecret: "grafana-tls", sso });
    const server = (v["grafana.ini"] as Record<string, Record<string, unknown>>).server;
    assert.equal(server.protocol, "https");
    assert.equal(server.cert_file, "/etc/grafana/tls/tls.crt");
    assert.deepEqual(v.extraSecretMounts, [{ name: "grafana-tls", mountPath: "/etc/grafana/tls", secretName: "grafana-tls", readOnly: true }]);
    assert.deepEqual(v.envValueFrom, { [GRAFANA_OAUTH_SECRET_ENV]: { secretKeyRef: { name: "grafana-oauth", key: "client-secret" } } });
    assert.equal(GRAFANA_OAUTH_SECRET_ENV, "GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET", "Grafana: GF_<SECTION>_<KEY>, dots as underscores");
  });
});
