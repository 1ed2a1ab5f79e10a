import type { Spawner } from "@cove/protocol/spawner";
import { run } from "../storage/host-command.js";

/** The node's `cove-ns` helper (packages/node/native/cove-ns.c): namespace work Node.js has no API for. */
export interface NsHelper {
  /** A user namespace mapping 0..size-1 to host ids uidBase.., pinned by a bind mount at `pin`. */
  createUserns(uidBase: number, size: number, pin: string): Promise<void>;
  /** A network namespace owned by the user namespace at `usernsPin`, pinned at `netnsPin`. */
  createNetns(usernsPin: string, netnsPin: string): Promise<void>;
  /** Mounts `source` at `target` idmapped through the user namespace at `usernsPin` (nosuid, nodev). */
  idmapMount(usernsPin: string, source: string, target: string, options: { readonly: boolean }): Promise<void>;
  /** In the mount namespace of `pid`, replaces the mounts on each of `files` with a read-only bind of `sourceDir` + file. */
  rebind(pid: number, sourceDir: string, files: readonly string[]): Promise<void>;
}

export function createNsHelper(binary: string, spawner?: Spawner): NsHelper {
  return {
    async createUserns(uidBase, size, pin) {
      await run([binary, "userns", String(uidBase), String(size), pin], spawner);
    },
    async createNetns(usernsPin, netnsPin) {
      await run([binary, "netns", usernsPin, netnsPin], spawner);
    },
    async idmapMount(usernsPin, source, target, { readonly }) {
      await run([binary, "idmap", usernsPin, source, target, ...(readonly ? ["--ro"] : [])], spawner);
    },
    async rebind(pid, sourceDir, files) {
      await run([binary, "rebind", String(pid), sourceDir, ...files], spawner);
    },
  };
}
