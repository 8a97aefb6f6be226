/**
 * Why `status --cluster` could not read the cluster, and what to do about it, in one line each.
 * Pure: the error the client (or the network, or the kubeconfig's auth plugin) raised in, text out.
 */

/** How a user writes the stack's kubeconfig (docs/deploy.md, "Watching the workers"). */
export const STACK_KUBECONFIG_COMMAND = 'pulumi stack output kubeconfig --show-secrets > kubeconfig.json';
const STACK_KUBECONFIG_FIX = `write the stack's: ${STACK_KUBECONFIG_COMMAND}, then pass --kubeconfig kubeconfig.json`;

/** Seconds `status --cluster` waits for the Kubernetes API (`--cluster-timeout`). */
export const DEFAULT_TIMEOUT_SECONDS = 10;

/** No kubeconfig file where kubectl would look. */
export class KubeconfigMissingError extends Error {
  constructor(readonly lookedAt: readonly string[]) {
    super(`no kubeconfig at ${lookedAt.join(', ')}`);
    this.name = 'KubeconfigMissingError';
  }
}

/** The kubeconfig's credentials could not be had (its exec plugin failed, a certificate file is missing, ...). */
export class CredentialsError extends Error {
  constructor(
    readonly command: string | undefined,
    override readonly cause: unknown,
  ) {
    super(`${command ? `${command} failed` : 'no credentials'}: ${firstLine(asErrorLike(cause).message ?? cause)}`);
    this.name = 'CredentialsError';
  }
}

export interface ClusterErrorContext {
  /** The command the kubeconfig runs for credentials (gke-gcloud-auth-plugin), if any. */
  readonly execCommand?: string;
  readonly timeoutSeconds: number;
}

export interface ClusterProblem {
  readonly problem: string;
  readonly fix: string;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ALTNAME/;

interface ErrorLike {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly code?: unknown;
  readonly cause?: unknown;
  readonly path?: unknown;
  readonly body?: unknown;
}

const asErrorLike = (value: unknown): ErrorLike => (typeof value === 'object' && value !== null ? value : {});

/** The error and its causes, outermost first (fetch wraps the socket's error in `cause`). */
function chain(error: unknown): ErrorLike[] {
  const links: ErrorLike[] = [];
  for (let link: unknown = error; link !== undefined && links.length < 5; link = asErrorLike(link).cause) {
    links.push(asErrorLike(link));
  }
  return links;
}

const firstLine = (text: unknown) =>
  String(text ?? '')
    .split('\n', 1)[0]!
    .trim();

/** The message of a Kubernetes Status body (`{"kind":"Status","message":...}`), if the answer had one. */
function statusMessage(body: unknown): string | null {
  const parsed = typeof body === 'string' ? safeParse(body) : body;
  const message = asErrorLike(parsed).message;
  return typeof message === 'string' ? message : null;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function explainClusterError(error: unknown, context: ClusterErrorContext): ClusterProblem {
  if (error instanceof KubeconfigMissingError) {
    return { problem: error.message, fix: STACK_KUBECONFIG_FIX };
  }
  const links = chain(error);
  const outer = links[0] ?? {};
  const codes = links.map((link) => (typeof link.code === 'string' ? link.code : ''));
  const names = links.map((link) => String(link.name ?? ''));

  if (names.includes('TimeoutError') || names.includes('AbortError')) {
    return {
      problem: `no answer within ${context.timeoutSeconds} s`,
      fix:
        'check that the cluster is up and that this machine may reach its control plane (the stack config ' +
        `authorizedNetworks); for a cluster created again, ${STACK_KUBECONFIG_FIX}`,
    };
  }
  const command = context.execCommand;
  if (command && links.some((link) => link.code === 'ENOENT' && link.path === command)) {
    return {
      problem: `the kubeconfig runs ${command} for credentials, which is not installed`,
      fix: `install it (gcloud components install ${command}) and run gcloud auth application-default login`,
    };
  }
  const networkCode = codes.find((code) => NETWORK_CODES.has(code));
  if (networkCode) {
    const detail = firstLine(links.find((link) => link.code === networkCode)?.message) || networkCode;
    return {
      problem: detail,
      fix:
        'check that the cluster exists and that this machine may reach it (the stack config authorizedNetworks); ' +
        `for a cluster created again, ${STACK_KUBECONFIG_FIX}`,
    };
  }
  const tlsCode = codes.find((code) => TLS_CODES.test(code));
  if (tlsCode) {
    return {
      problem: `the server's TLS certificate does not match the kubeconfig (${tlsCode})`,
      fix: `the kubeconfig is probably for an earlier cluster; ${STACK_KUBECONFIG_FIX}`,
    };
  }
  if (typeof outer.code === 'number') {
    const message = statusMessage(outer.body);
    const said = message ? `: ${firstLine(message)}` : '';
    if (outer.code === 401) {
      return {
        problem: `the API server rejected the credentials (HTTP 401${said})`,
        fix: 'run gcloud auth application-default login (the stack kubeconfig uses application default credentials)',
      };
    }
    if (outer.code === 403) {
      return {
        problem: `forbidden (HTTP 403${said})`,
        fix: 'your account needs to list pods, jobs, deployments and nodes: e.g. roles/container.viewer on the project',
      };
    }
    return { problem: `HTTP ${outer.code}${said}`, fix: 'see the message; kubectl get pods shows the same API' };
  }
  if (error instanceof CredentialsError) {
    // The auth plugin ran and failed: its stderr is the message.
    return {
      problem: error.message,
      fix: command
        ? 'run gcloud auth application-default login (the stack kubeconfig uses application default credentials)'
        : "check the kubeconfig's user entry (its certificate and key files)",
    };
  }
  const messages = links.map((link) => firstLine(link.message)).filter((message) => message !== '');
  return {
    problem: messages.join(': ') || String(error),
    fix: `check the kubeconfig (kubectl --kubeconfig FILE get pods should work), or ${STACK_KUBECONFIG_FIX}`,
  };
}
