import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** A file's text, a directory (`{ dir: true }`), a symlink, or a file with a mode. */
export type TreeNode = string | Buffer | { dir: true; mode?: number } | { link: string } | { content: string | Buffer; mode: number };

/** A temporary build context with these entries; `remove` deletes it (call it in `after`/`finally`). */
export async function makeContext(tree: Readonly<Record<string, TreeNode>>): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "cove-context-"));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    await fill(dir, tree);
  } catch (error) {
    await remove();
    throw error;
  }
  return { dir, remove };
}

async function fill(dir: string, tree: Readonly<Record<string, TreeNode>>): Promise<void> {
  const modes: Array<[string, number]> = [];
  for (const [path, node] of Object.entries(tree)) {
    const full = join(dir, path);
    await mkdir(dirname(full), { recursive: true });
    if (typeof node === "string" || Buffer.isBuffer(node)) {
      await writeFile(full, node);
    } else if ("dir" in node) {
      await mkdir(full, { recursive: true });
      if (node.mode !== undefined) modes.push([full, node.mode]);
    } else if ("link" in node) {
      await symlink(node.link, full);
    } else {
      await writeFile(full, node.content);
      modes.push([full, node.mode]);
    }
  }
  // Modes last, so a read-only directory does not stop its own entries from being created.
  for (const [full, mode] of modes.reverse()) await chmod(full, mode);
}
