import { chmod, chown } from "node:fs/promises";
import type { BindMount } from "../runtime/container/oci-spec.js";
import { bootIdBind } from "./boot-id.js";
import { writeEtcFiles } from "./etc-files.js";

/** The host files a sandbox needs besides its disk and network, behind an interface so the manager's logic runs without root. */
export interface SandboxFiles {
  /** Lets the sandbox's user namespace (root = host uid `uidBase`) pass its dir, as the OCI runtime mounts its rootfs from inside it. */
  openDir(dir: string, uidBase: number): Promise<void>;
  /** Writes hostname, hosts, resolv.conf and the boot id on the sandbox's disk; returns their binds. */
  write(o: { sandboxId: string; sandboxAddress: string; filesDir: string; rootUid: number }): Promise<BindMount[]>;
}

export function createSandboxFiles(options: { dnsServers: readonly string[] }): SandboxFiles {
  return {
    async openDir(dir, uidBase) {
      await Promise.all([chown(dir, 0, uidBase), chmod(dir, 0o710)]);
    },
    async write(o) {
      const etc = await writeEtcFiles({ ...o, dnsServers: options.dnsServers });
      return [await bootIdBind(o.filesDir), ...etc];
    },
  };
}
