/**
 * Certificates, keys and kubeconfig files for the local test cluster (test/support/kube.ts), made
 * with the `openssl` command in a scratch folder: a throwaway CA, the API server's serving
 * certificate, one client certificate per component (each with the identity Kubernetes' bootstrap
 * RBAC roles and the Node authorizer expect) and the service-account signing key pair.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The client identities the cluster's components and the tests use. */
export type KubeIdentity =
  'admin' | 'controller-manager' | 'scheduler' | 'kubelet' | 'apiserver-kubelet-client' | 'front-proxy-client';

export interface KubePki {
  readonly dir: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly serviceAccountKey: string;
  readonly serviceAccountPub: string;
  cert(identity: KubeIdentity): { readonly cert: string; readonly key: string };
  /**
   * A certificate for both ends of TLS (server and client auth) with these subject alternative
   * names, e.g. for KEDA's operator and metrics adapter, which share one for their mutual TLS.
   */
  peerCert(
    name: string,
    sans: { readonly dns: readonly string[]; readonly ips: readonly string[] },
  ): {
    readonly cert: string;
    readonly key: string;
  };
  /** A kubeconfig file for `identity` against `server` (https://host:port). */
  kubeconfig(identity: KubeIdentity, server: string): string;
}

/** Subjects: the organisation is the group, the common name the user. */
function subjectOf(identity: KubeIdentity, nodeName: string): string {
  switch (identity) {
    case 'admin':
      return '/O=system:masters/CN=gke-batch-test-admin';
    case 'controller-manager':
      return '/CN=system:kube-controller-manager';
    case 'scheduler':
      return '/CN=system:kube-scheduler';
    case 'kubelet':
      return `/O=system:nodes/CN=system:node:${nodeName}`;
    case 'apiserver-kubelet-client':
      return '/O=system:masters/CN=kube-apiserver-kubelet-client';
    case 'front-proxy-client':
      // The API server's identity when it forwards a request to an aggregated API (--requestheader-allowed-names).
      return '/CN=front-proxy-client';
  }
}

const IDENTITIES: readonly KubeIdentity[] = [
  'admin',
  'controller-manager',
  'scheduler',
  'kubelet',
  'apiserver-kubelet-client',
  'front-proxy-client',
];

function subjectAltNames(names: { readonly dns: readonly string[]; readonly ips: readonly string[] }): string {
  return [...names.dns.map((name) => `DNS:${name}`), ...names.ips.map((ip) => `IP:${ip}`)].join(',');
}

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
}

/** A P-256 key and a CSR, signed by the CA with the given extensions (an openssl extensions file). */
function issue(dir: string, name: string, subject: string, extensions: string): void {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  writeFileSync(ext, extensions);
  openssl(
    ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'].concat([
      '-keyout',
      key,
      '-out',
      csr,
      '-subj',
      subject,
    ]),
  );
  openssl(
    ['x509', '-req', '-in', csr, '-CA', path.join(dir, 'ca.crt'), '-CAkey', path.join(dir, 'ca.key')].concat([
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      path.join(dir, `${name}.crt`),
      '-extfile',
      ext,
    ]),
  );
}

/**
 * Makes everything in `dir`. `serverNames` are the API server's DNS names and IP addresses (its
 * certificate's subject alternative names).
 */
export function makeKubePki(
  dir: string,
  nodeName: string,
  serverNames: { readonly dns: readonly string[]; readonly ips: readonly string[] },
): KubePki {
  openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'].concat([
      '-subj',
      '/CN=gke-batch-test-ca',
      '-keyout',
      path.join(dir, 'ca.key'),
      '-out',
      path.join(dir, 'ca.crt'),
    ]),
  );
  issue(
    dir,
    'apiserver',
    '/CN=kube-apiserver',
    'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' +
      `subjectAltName=${subjectAltNames(serverNames)}\n`,
  );
  for (const identity of IDENTITIES) {
    issue(
      dir,
      identity,
      subjectOf(identity, nodeName),
      'keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
    );
  }
  // The API server signs service-account tokens with this key; the controller manager needs it too.
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', path.join(dir, 'sa.key')]);
  openssl(['pkey', '-in', path.join(dir, 'sa.key'), '-pubout', '-out', path.join(dir, 'sa.pub')]);

  const cert = (identity: KubeIdentity) => ({
    cert: path.join(dir, `${identity}.crt`),
    key: path.join(dir, `${identity}.key`),
  });
  return {
    dir,
    caCert: path.join(dir, 'ca.crt'),
    serverCert: path.join(dir, 'apiserver.crt'),
    serverKey: path.join(dir, 'apiserver.key'),
    serviceAccountKey: path.join(dir, 'sa.key'),
    serviceAccountPub: path.join(dir, 'sa.pub'),
    cert,
    peerCert(name, sans) {
      issue(
        dir,
        name,
        `/CN=${name}`,
        'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n' +
          `subjectAltName=${subjectAltNames(sans)}\n`,
      );
      return { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
    },
    kubeconfig(identity, server) {
      const file = path.join(dir, `${identity}.kubeconfig`);
      const { cert: certFile, key } = cert(identity);
      const data = (file: string) => readFileSync(file).toString('base64');
      // Self-contained (the data inline, not file paths), and JSON is YAML: no YAML library needed.
      const config = {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'local', cluster: { server, 'certificate-authority-data': data(path.join(dir, 'ca.crt')) } },
        ],
        users: [{ name: identity, user: { 'client-certificate-data': data(certFile), 'client-key-data': data(key) } }],
        contexts: [{ name: 'local', context: { cluster: 'local', user: identity } }],
        'current-context': 'local',
      };
      writeFileSync(file, JSON.stringify(config, null, 2));
      return file;
    },
  };
}
