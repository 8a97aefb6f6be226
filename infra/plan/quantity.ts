/**
 * Kubernetes resource quantities ("1", "500m", "3Gi", "3000Mi", "2.5G"): parsing to plain numbers
 * and printing them back for people. Pure; the Kubernetes API keeps the user's own spelling.
 */

const DECIMAL_SUFFIXES: Readonly<Record<string, number>> = {
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const BINARY_SUFFIXES: Readonly<Record<string, number>> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^(\d+(?:\.\d*)?|\.\d+)([a-zA-Z]*)$/;

export const MIB = 2 ** 20;
export const GIB = 2 ** 30;

/**
 * The value of a quantity in base units (cores for CPU, bytes for memory), or undefined when it is
 * not a quantity Kubernetes accepts. Exponent notation ("1e3") is not accepted: nobody writes it in
 * a stack file and it reads like a typo.
 */
export function parseQuantity(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text : undefined;
  const match = QUANTITY.exec(text.trim());
  if (!match) return undefined;
  const [, digits, suffix] = match;
  const multiplier = BINARY_SUFFIXES[suffix] ?? DECIMAL_SUFFIXES[suffix];
  return multiplier === undefined ? undefined : Number(digits) * multiplier;
}

/** CPU in millicores ("1" → 1000, "500m" → 500), or undefined when not a quantity. */
export function parseCpuMillis(text: string | number): number | undefined {
  const cores = parseQuantity(text);
  return cores === undefined ? undefined : Math.round(cores * 1000 * 1000) / 1000;
}

/** Memory in MiB ("3Gi" → 3072, "3000Mi" → 3000, "1G" → 953.67...), or undefined when not a quantity. */
export function parseMemoryMiB(text: string | number): number | undefined {
  const bytes = parseQuantity(text);
  return bytes === undefined ? undefined : bytes / MIB;
}

/**
 * A hint for the usual mistakes ("3GB", "3gi", "1.5 cores"), so the error can say what to write.
 */
export function quantityHint(text: string, kind: 'cpu' | 'memory'): string {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (kind === 'cpu') {
    return 'write whole or fractional cores ("1", "0.5") or millicores ("500m")';
  }
  if (match) {
    const [, digits, suffix] = match;
    const letter = suffix.charAt(0).toUpperCase();
    if ('KMGTPE'.includes(letter) && letter !== '') {
      return `write ${digits}${letter}i (binary, ${letter}iB) or ${digits}${letter} (decimal)`;
    }
  }
  return 'write a number with a unit suffix, e.g. "3Gi" or "3000Mi"';
}

/** "1 vCPU", "0.46 vCPU", "850m": how the sizing plan prints CPU. */
export function formatCpu(millis: number): string {
  if (millis % 1000 === 0) return `${millis / 1000} vCPU`;
  return `${round(millis / 1000, 2)} vCPU`;
}

/** "3 GiB", "12.4 GiB", "512 MiB": how the sizing plan prints memory. */
export function formatMemory(mib: number): string {
  if (mib >= 1024) return `${round(mib / 1024, 2)} GiB`;
  return `${Math.round(mib)} MiB`;
}

/** A quantity to put in a manifest or a suggestion, rounded down: "4264Mi", "3Gi", "850m", "2". */
export function toMemoryQuantity(mib: number): string {
  const whole = Math.floor(mib);
  return whole % 1024 === 0 ? `${whole / 1024}Gi` : `${whole}Mi`;
}

export function toCpuQuantity(millis: number): string {
  const whole = Math.floor(millis);
  return whole % 1000 === 0 ? `${whole / 1000}` : `${whole}m`;
}

/** Rounds down to `digits` decimals: "at most 12.4Gi" must never promise more than there is. */
export function floorTo(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.floor(value * scale + 1e-9) / scale;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
