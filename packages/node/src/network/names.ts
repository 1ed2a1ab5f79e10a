import { NodeError } from "../errors.js";

const sandboxIdPattern = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Starts and ends with a letter so `${prefix}${index}` splits back into one (prefix, index) pair. */
const prefixPattern = /^[a-z](?:[a-z0-9]{0,4}[a-z])?$/;

export function validateSandboxId(sandboxId: string): void {
  if (!sandboxIdPattern.test(sandboxId)) {
    throw new NodeError("invalid_argument", `sandbox id ${JSON.stringify(sandboxId)} must match ${sandboxIdPattern.source}`);
  }
}

export function validatePrefix(prefix: string): void {
  if (!prefixPattern.test(prefix)) {
    throw new NodeError("invalid_argument", `network prefix ${JSON.stringify(prefix)} must be 1-6 chars of [a-z0-9] starting and ending with a letter`);
  }
}

export const netnsDir = "/var/run/netns";

/** Every name the module derives from (prefix, sandbox id, slot); one place so they cannot drift apart. */
export function networkNames(prefix: string) {
  const hostIfPattern = new RegExp(`^${prefix}(0|[1-9][0-9]*)$`);
  return {
    table: `cove_${prefix}`,
    netnsName: (sandboxId: string) => `${prefix}-${sandboxId}`,
    netnsPath: (sandboxId: string) => `${netnsDir}/${prefix}-${sandboxId}`,
    hostIf: (index: number) => `${prefix}${index}`,
    /** The slot of one of our host veth names, or undefined if the name is not ours. */
    slotOfHostIf(name: string): number | undefined {
      const m = hostIfPattern.exec(name);
      return m?.[1] === undefined ? undefined : Number(m[1]);
    },
    /** The sandbox id of one of our netns names, or undefined if the name is not ours. */
    sandboxIdOfNetns(name: string): string | undefined {
      const id = name.startsWith(`${prefix}-`) ? name.slice(prefix.length + 1) : undefined;
      return id !== undefined && sandboxIdPattern.test(id) ? id : undefined;
    },
  };
}
