import { stat } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { NodeError } from "../errors.js";

const sandboxIdPattern = /^[a-z0-9][a-z0-9-]{0,62}$/;
/**
 * overlayfs splits its options on `,` and lowerdir on `:`, and `\` escapes both; whitespace and
 * control characters would be mangled in /proc/self/mountinfo. Refusing them is simpler than escaping.
 */
const unsafePathChars = /[,:\\\s\p{Cc}]/u;

export const minDiskBytes = 16 * 1024 * 1024;
/** ext4 with 4 KiB blocks goes far beyond this; a bigger ask is surely a unit mistake. */
export const maxDiskBytes = 16 * 1024 ** 4;

export function isSandboxId(name: string): boolean {
  return sandboxIdPattern.test(name);
}

export function validateSandboxId(sandboxId: string): void {
  if (!isSandboxId(sandboxId)) {
    throw new NodeError("invalid_argument", `invalid sandbox id ${JSON.stringify(sandboxId)}: expected ${sandboxIdPattern.source}`);
  }
}

export function validateMountPath(path: string, what: string): void {
  if (!isAbsolute(path)) throw new NodeError("invalid_argument", `${what} must be an absolute path: ${JSON.stringify(path)}`);
  if (unsafePathChars.test(path)) {
    throw new NodeError("invalid_argument", `${what} must not contain commas, colons, backslashes or whitespace: ${JSON.stringify(path)}`);
  }
}

export function validateDiskBytes(diskBytes: number): void {
  if (!Number.isSafeInteger(diskBytes) || diskBytes < minDiskBytes || diskBytes > maxDiskBytes) {
    throw new NodeError("invalid_argument", `diskBytes must be an integer from ${minDiskBytes} to ${maxDiskBytes}, got ${diskBytes}`);
  }
}

export async function validateLowerDir(lowerDir: string): Promise<void> {
  validateMountPath(lowerDir, "lowerDir");
  const info = await stat(lowerDir).catch(() => undefined);
  if (!info?.isDirectory()) throw new NodeError("invalid_argument", `lowerDir is not an existing directory: ${lowerDir}`);
}
