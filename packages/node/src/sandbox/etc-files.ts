import { chown, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BindMount } from "../runtime/container/oci-spec.js";

export interface EtcFilesOptions {
  sandboxId: string;
  sandboxAddress: string;
  dnsServers: readonly string[];
  /** On the sandbox's own disk (SandboxRootfs.filesDir), so writes to these count against it. */
  filesDir: string;
  /** Host id of root inside the sandbox (0 without a user namespace): root inside may edit them. */
  rootUid: number;
}

const names = ["hostname", "hosts", "resolv.conf"] as const;

/** Writes the sandbox's hostname, hosts and resolv.conf and returns their binds over /etc. */
export async function writeEtcFiles(o: EtcFilesOptions): Promise<BindMount[]> {
  const content: Record<(typeof names)[number], string> = {
    hostname: `${o.sandboxId}\n`,
    hosts: `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${o.sandboxAddress}\t${o.sandboxId}\n`,
    "resolv.conf": o.dnsServers.map((s) => `nameserver ${s}\n`).join(""),
  };
  return Promise.all(
    names.map(async (name) => {
      const source = join(o.filesDir, name);
      await writeFile(source, content[name], { mode: 0o644 });
      await chown(source, o.rootUid, o.rootUid);
      return { source, destination: `/etc/${name}`, readonly: false };
    }),
  );
}
