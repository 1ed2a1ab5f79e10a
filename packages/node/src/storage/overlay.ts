import { NodeError } from "../errors.js";
import { run } from "./host-command.js";
import type { Spawner } from "@cove/protocol/spawner";

export interface OverlayLayers {
  /** One dir, or several joined with `:`, top first (overlayfs' order). */
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

/** mount(2) takes its options in one page. */
const maxOptionBytes = 4095;

export async function mountOverlay(layers: OverlayLayers, mountPoint: string, spawner?: Spawner): Promise<void> {
  const options = overlayOptions(layers);
  if (Buffer.byteLength(options) > maxOptionBytes) {
    throw new NodeError(
      "invalid_argument",
      `too many layers to mount at once (${layers.lowerDir.split(":").length}): their paths exceed the kernel's ${maxOptionBytes} bytes of mount options`,
    );
  }
  await run(["mount", "-t", "overlay", "overlay", "-o", options, mountPoint], spawner);
}
