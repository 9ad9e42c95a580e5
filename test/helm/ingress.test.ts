// The chart's Ingress for web clients, rendered with the real helm binary: only the web paths
// of the HTTP Service (WebSocket, host-meta, upload), WebSocket-friendly timeouts for the usual
// controllers, TLS, and the settings the nodes get with it (public URL, trusted proxies, origins).
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { findObject, HelmError, type K8sObject, lintChart, renderChart, renderedNodeEnv, templateChart } from '../support/helm.js';

const WEB = {
  ingress: {
    enabled: true,
    className: 'nginx',
    host: 'xmpp.example.org',
    tlsSecret: 'xmpp-example-org-tls',
    trustedProxies: '10.42.0.0/16',
    webOrigins: 'https://chat.example.org',
    annotations: { 'nginx.ingress.kubernetes.io/proxy-read-timeout': '7200', 'cert-manager.io/cluster-issuer': 'letsencrypt' },
  },
  proxyProtocol: { enabled: true, trustedProxies: '10.0.0.0/16' },
};

interface IngressSpec {
  ingressClassName?: string;
  tls?: { hosts: string[]; secretName: string }[];
  rules: { host: string; http: { paths: { path: string; pathType: string; backend: { service: { name: string; port: { name: string } } } }[] } }[];
}

const ingressOf = (objects: K8sObject[]): K8sObject => findObject(objects, 'Ingress');
const configMapOf = (objects: K8sObject[]): Record<string, string> => findObject(objects, 'ConfigMap').data as Record<string, string>;

describe('the chart\'s Ingress for web clients', () => {
  it('is not rendered by default', () => {
    expect(renderChart().map((object) => object.kind)).not.toContain('Ingress');
  });

  it('passes helm lint --strict and validates against the Kubernetes schema', () => {
    expect(lintChart(WEB)).toMatch(/0 chart\(s\) failed/);
    const ingress = ingressOf(renderChart(WEB));
    expect(() => new Ingress(ingress as never).validate()).not.toThrow();
    expect(ingress.metadata.namespace).toBe('xmpp');
  });

  it('routes only the WebSocket, host-meta and upload paths of the host to the HTTP Service, with TLS', () => {
    const objects = renderChart(WEB);
    const spec = ingressOf(objects).spec as IngressSpec;
    expect(spec.ingressClassName).toBe('nginx');
    expect(spec.tls).toEqual([{ hosts: ['xmpp.example.org'], secretName: 'xmpp-example-org-tls' }]);
    expect(spec.rules.map((rule) => rule.host)).toEqual(['xmpp.example.org']);
    const paths = spec.rules[0]?.http.paths ?? [];
    expect(paths.map((p) => `${p.pathType} ${p.path}`)).toEqual(['Exact /xmpp-websocket', 'Exact /.well-known/host-meta', 'Exact /.well-known/host-meta.json', 'Prefix /upload/']);
    const http = findObject(objects, 'Service', 'rookery-http');
    const portNames = (http.spec as { ports: { name: string }[] }).ports.map((port) => port.name);
    for (const p of paths) {
      expect(p.backend.service.name).toBe('rookery-http');
      expect(portNames).toContain(p.backend.service.port.name);
    }
    // The admin API and the metrics stay inside the cluster.
    expect(paths.some((p) => p.path === '/' || p.path.startsWith('/admin') || p.path === '/metrics')).toBe(false);
  });

  it('raises the proxy timeouts for WebSockets on the usual controllers, and lets an annotation of the values win', () => {
    const annotations = ingressOf(renderChart(WEB)).metadata.annotations ?? {};
    expect(annotations).toMatchObject({
      'nginx.ingress.kubernetes.io/proxy-read-timeout': '7200',
      'nginx.ingress.kubernetes.io/proxy-send-timeout': '3600',
      'nginx.org/websocket-services': 'rookery-http',
      'nginx.org/proxy-read-timeout': '3600s',
      'haproxy.org/timeout-tunnel': '3600s',
      'cert-manager.io/cluster-issuer': 'letsencrypt',
    });
  });

  it('tells the nodes their public URL, the web origins and the ingress as a trusted proxy, beside the PROXY protocol\'s', () => {
    const data = configMapOf(renderChart(WEB));
    expect(data.ROOKERY_HTTP_PUBLIC_URL).toBe('https://xmpp.example.org');
    expect(data.ROOKERY_WEB_ORIGINS).toBe('https://chat.example.org');
    expect(data.ROOKERY_TRUSTED_PROXIES).toBe('10.0.0.0/16, 10.42.0.0/16');
    const env = renderedNodeEnv(WEB);
    const config = loadConfig({ env: { ...env, ROOKERY_NODE_ID: 'rookery-0', ROOKERY_REDIS_URL: 'redis://redis:6379/0', ROOKERY_ADMIN_TOKEN: 't' }, checkFiles: false });
    expect(config.httpPublicUrl).toBe('https://xmpp.example.org');
    expect(config.trustedProxies).toBe('10.0.0.0/16, 10.42.0.0/16');
    // Without the PROXY protocol, the ingress alone.
    expect(configMapOf(renderChart({ ingress: WEB.ingress })).ROOKERY_TRUSTED_PROXIES).toBe('10.42.0.0/16');
    expect(configMapOf(renderChart({ proxyProtocol: WEB.proxyProtocol })).ROOKERY_TRUSTED_PROXIES).toBe('10.0.0.0/16');
  });

  it('refuses to render without a host', () => {
    expect(() => templateChart({ ingress: { enabled: true } })).toThrow(HelmError);
    try {
      templateChart({ ingress: { enabled: true } });
    } catch (error) {
      expect((error as HelmError).stderr).toMatch(/ingress\.host is empty/);
    }
  });
});
