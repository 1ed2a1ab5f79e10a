import { run } from "./host-command.js";
import type { Spawner } from "@cove/protocol/spawner";

export interface OverlayLayers {
  lowerDir: string;
  upperDir: string;
  workDir: string;
}

/**
 * Options pinned rather than left to the kernel's build defaults, so every node's sandboxes
 * behave alike and an upper dir never depends on anything but itself and its lower:
 * index=off and metacopy=off (copy-up copies data, upper holds whole files), redirect_dir=off
 * (renaming a directory that came from the template gives EXDEV, and mv falls back to copying,
 * as with Docker on Debian kernels). xino is left to the kernel: forcing it warns in dmesg on
 * every mount where the lower fs has no UUID.
 * Paths were checked free of `,` `:` `\` (validate.ts), so no escaping is needed.
 */
export function overlayOptions(layers: OverlayLayers): string {
  return [`lowerdir=${layers.lowerDir}`, `upperdir=${layers.upperDir}`, `workdir=${layers.workDir}`, "index=off", "metacopy=off", "redirect_dir=off"].join(",");
}

export async function mountOverlay(layers: OverlayLayers, mountPoint: string, spawner?: Spawner): Promise<void> {
  await run(["mount", "-t", "overlay", "overlay", "-o", overlayOptions(layers), mountPoint], spawner);
}
