import { shellQuote } from "@cove/builder";
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Layer, LayerStore } from "@cove/builder";

/**
 * A template that sets PATH (`ENV PATH=/opt/app/bin:$PATH`) gets a small last layer putting it in
 * /etc/profile.d: the SDK runs commands through `bash -l`, and Debian's /etc/profile resets PATH
 * for login shells before it reads profile.d. Other variables pass through a login shell as set.
 */
export async function profilePathLayer(store: LayerStore, parentKey: string, path: string): Promise<Layer> {
  const key = createHash("sha256")
    .update(JSON.stringify(["profile-path", parentKey, path]))
    .digest("hex");
  const cached = await store.get(key);
  if (cached) return cached;
  const staged = await store.stage();
  try {
    await mkdir(join(staged.dir, "etc", "profile.d"), { recursive: true, mode: 0o755 });
    await writeFile(
      join(staged.dir, "etc", "profile.d", "zz-cove-template-path.sh"),
      `# The template's PATH, set by its build (ENV PATH).\nexport PATH=${shellQuote(path)}\n`,
      {
        mode: 0o644,
      },
    );
    return await store.commit(staged, key);
  } catch (err) {
    await store.discard(staged);
    throw err;
  }
}
