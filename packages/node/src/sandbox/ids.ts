import { randomBytes } from "node:crypto";

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

/**
 * A new sandbox id: 20 characters of [a-z0-9], starting with a letter, so it
 * is a valid hostname label (it becomes the sandbox's hostname) and a valid
 * DNS label for `{port}-{id}.{domain}` routing. 2^100 possibilities.
 */
export function newSandboxId(): string {
  const bytes = randomBytes(20);
  let id = alphabet[bytes[0]! % 26]!;
  for (let i = 1; i < 20; i++) id += alphabet[bytes[i]! % 36]!;
  return id;
}

export const sandboxIdPattern = /^[a-z0-9][a-z0-9-]{0,62}$/;
