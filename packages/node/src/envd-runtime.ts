import { createHash } from "node:crypto";
import { copyFile, link, mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";

/**
 * Pins the envd runtime the node mounts into sandboxes: a private copy under
 * `<dataDir>/runtime/envd-<hash>/` (hard links where possible, so it costs
 * no space). A rebuild of the source folder (`npm run build` replaces it)
 * then neither breaks new creates nor changes what running sandboxes see.
 * Copies of older builds are removed once no sandbox directory names them.
 */
export async function pinEnvdRuntime(sourceDir: string, dataDir: string, inUse: (dir: string) => Promise<boolean>): Promise<string> {
  const hash = createHash("sha256")
    .update(await readFile(join(sourceDir, "envd.js")))
    .update(String((await stat(join(sourceDir, "node"))).size))
    .digest("hex")
    .slice(0, 12);
  const root = join(dataDir, "runtime");
  const target = join(root, `envd-${hash}`);
  await mkdir(root, { recursive: true });
  try {
    await stat(join(target, "envd.js"));
  } catch {
    const scratch = `${target}.tmp-${process.pid}`;
    await rm(scratch, { recursive: true, force: true });
    await copyTree(sourceDir, scratch);
    await rm(target, { recursive: true, force: true });
    await rename(scratch, target);
  }
  for (const name of await readdir(root)) {
    const dir = join(root, name);
    if (dir !== target && !(await inUse(dir))) await rm(dir, { recursive: true, force: true });
  }
  return target;
}

async function copyTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    if (entry.isDirectory()) await copyTree(src, dst);
    else if (entry.isFile()) {
      try {
        await link(src, dst);
      } catch {
        await copyFile(src, dst); // another filesystem
      }
    }
  }
}
