/**
 * Kubernetes' syntax rules for label keys, label values and taints, and the namespaces the
 * workers must not use. Pure: each returns why a value breaks a rule, or undefined.
 */
import { KEDA_NAMESPACE } from './defaults';

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `key` is not a Kubernetes label (or taint) key: `[prefix/]name`. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (name === '') return 'has no name after its prefix; write PREFIX/NAME or NAME';
  if (name.length > 63) return `has a name part of ${name.length} characters; Kubernetes allows at most 63`;
  if (!NAME.test(name))
    return (
      'breaks Kubernetes\' label key rule: the name part is letters, digits, "-", "_" and ".", starting and ' +
      'ending with a letter or digit'
    );
  if (prefix !== undefined) {
    if (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))
      return `has the prefix "${prefix}", which is not a lowercase DNS subdomain (like example.com or gke-batch)`;
    if (/(^|\.)(kubernetes\.io|k8s\.io)$/.test(prefix))
      return (
        `uses the reserved prefix "${prefix}": Kubernetes keeps kubernetes.io and k8s.io labels for itself; use ` +
        `your own prefix, e.g. gke-batch/`
      );
  }
  return undefined;
}

/** Why `value` is not a Kubernetes label (or taint) value: empty, or at most 63 name characters. */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63) return `is ${value.length} characters long; Kubernetes allows at most 63`;
  if (!NAME.test(value))
    return (
      'breaks Kubernetes\' label value rule: letters, digits, "-", "_" and ".", starting and ending with a ' +
      'letter or digit (or empty)'
    );
  return undefined;
}

/** Why the workers must not run in `namespace`, or undefined. */
export function namespaceProblem(namespace: string): string | undefined {
  if (namespace === 'default')
    return (
      'is the default namespace, shared with everything else; pulumi destroy would delete it: use a namespace ' +
      'of its own, e.g. batch-workers'
    );
  if (/^(kube|gke)-/.test(namespace))
    return (
      'is a system namespace (kube-* and gke-* belong to Kubernetes and GKE); use a namespace of its own, e.g. ' +
      'batch-workers'
    );
  if (namespace === KEDA_NAMESPACE)
    return (
      `is KEDA's namespace (the stack installs KEDA there in continuous mode); use a namespace of its own, e.g. ` +
      `batch-workers`
    );
  return undefined;
}
