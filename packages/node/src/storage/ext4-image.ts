import { open } from "node:fs/promises";
import { run } from "./host-command.js";
import type { Spawner } from "@cove/protocol/spawner";

/**
 * mkfs.ext4 flags, chosen for a fresh sparse file (measured in decision 0007):
 * - `-b 4096 -I 256`: mke2fs would pick 1 KiB blocks for disks under 512 MiB; 256-byte inodes
 *   keep nanosecond and post-2038 timestamps.
 * - `-m 0`: no root-reserved blocks; the sandbox's root should get the whole disk it was given.
 * - `^resize_inode`: its reserved GDT blocks are what makes mkfs slow on big disks
 *   (10 GiB: 8 → 3.7 ms); we never grow a disk online.
 * - lazy_itable_init/lazy_journal_init/nodiscard: a new sparse file already reads as zeros,
 *   so zeroing or discarding it would only write (and allocate) what is already there.
 */
const mkfsFlags = ["-q", "-F", "-b", "4096", "-I", "256", "-m", "0", "-O", "^resize_inode", "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard"];

/**
 * Mount options for the sandbox's disk:
 * - `noinit_itable`: no background zeroing of inode tables (they are holes, already zero);
 *   it would otherwise write megabytes per sandbox into the host's disk.
 * - `discard`: deletes inside the sandbox punch holes in the image, giving the space back to the host.
 * - `nosuid,nodev`: the disk holds what root inside the sandbox wrote (a setuid copy of a shell, a
 *   device node); on the host it must stay inert. The sandbox itself runs files through the overlay
 *   mount, whose own flags decide (so sudo inside keeps working).
 */
const mountOptions = "noinit_itable,discard,nosuid,nodev";

/** Creates `image` as a sparse file of `bytes` (fails if it exists) and makes an ext4 filesystem on it. */
export async function createExt4Image(image: string, bytes: number, spawner?: Spawner): Promise<void> {
  const file = await open(image, "wx", 0o600);
  try {
    await file.truncate(bytes);
  } finally {
    await file.close();
  }
  await run(["mkfs.ext4", ...mkfsFlags, image], spawner);
}

/**
 * Attaches the image to a free loop device with direct I/O; returns the device. Direct I/O
 * because buffered loop I/O caches every block twice (in the sandbox fs and in the host's copy
 * of the image) and made fsync-heavy writes 2–4× slower here (decision 0007). mount -o loop
 * cannot ask for direct I/O, and switching it on after the mount costs ~20 ms.
 * Callers must not run two of these at once: concurrent `losetup --find` calls collide on the
 * same free device and back off for hundreds of ms (8 at once: 1.2 s, one after another: 14 ms).
 * The device is not autoclear: whoever unmounts must detach it (release does).
 */
export async function attachLoop(image: string, spawner?: Spawner): Promise<string> {
  return (await run(["losetup", "--find", "--show", "--direct-io=on", image], spawner)).trim();
}

/** Mounts the loop device; if that fails, detaches it so nothing is left attached. */
export async function mountLoop(device: string, mountPoint: string, spawner?: Spawner): Promise<void> {
  try {
    await run(["mount", "-t", "ext4", "-o", mountOptions, device, mountPoint], spawner);
  } catch (err) {
    await run(["losetup", "--detach", device], spawner).catch(() => undefined);
    throw err;
  }
}
