import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { NodeError } from "../errors.js";
import { findDebianMirror, readAptSources } from "../templates/apt-mirror.js";
import { runStep } from "../templates/chroot.js";

const CODENAMES: Record<string, string> = { "11": "bullseye", "12": "bookworm", "13": "trixie" };
const SUITES = new Set(["stable", "testing", "unstable", "oldstable", "sid", "bullseye", "bookworm", "trixie", "forky"]);

/**
 * The Debian suite an image reference names (`debian`, `debian:bookworm-slim`, `debian:12`,
 * `docker.io/library/debian:stable`, what the SDK's `fromDebianImage()` sends), or undefined for
 * anything else (a point release such as `debian:12.5` is left to the registry).
 */
export function debianSuiteOf(reference: string): string | undefined {
  const m = /^(?:docker\.io\/)?(?:library\/)?debian(?::([a-z0-9.-]+))?$/.exec(reference);
  if (!m) return undefined;
  const tag = (m[1] ?? "latest").replace(/-slim$/, "");
  if (tag === "latest") return "stable";
  return CODENAMES[tag] ?? (SUITES.has(tag) ? tag : undefined);
}

export interface DebianRootfs {
  rootfs: string;
  builtAt: string;
}

interface Built {
  suite: string;
  mirror: string;
  builtAt: string;
}

/**
 * `debian:<suite>` made on this host by `debootstrap --variant=minbase` from the Debian mirror its
 * apt uses, for hosts that reach no registry (as `base` is made). Built once per suite under
 * `dir/<suite>/` (scratch dir, then a rename) and reused.
 */
export function createDebianRootfs(dir: string) {
  const building = new Map<string, Promise<DebianRootfs>>();

  async function build(suite: string, onLine: (line: string) => void): Promise<DebianRootfs> {
    const target = join(dir, suite);
    const done = await readFile(join(target, "built.json"), "utf8").then(
      (t) => JSON.parse(t) as Built,
      () => undefined,
    );
    if (done) return { rootfs: join(target, "rootfs"), builtAt: done.builtAt };
    const sources = readAptSources();
    const mirror = [suite, "bookworm", "trixie", "stable"].map((s) => findDebianMirror(sources, s)).find((m) => m !== undefined);
    if (!mirror) throw new NodeError("unavailable", "no Debian mirror in this host's apt sources to make debian images from");
    const scratch = join(dir, `.build-${suite}-${randomBytes(4).toString("hex")}`);
    await mkdir(scratch, { recursive: true, mode: 0o700 });
    try {
      await runStep(["debootstrap", "--variant=minbase", suite, join(scratch, "rootfs"), mirror], { onLine });
      const built: Built = { suite, mirror, builtAt: new Date().toISOString() };
      await writeFile(join(scratch, "built.json"), `${JSON.stringify(built)}\n`);
      await rename(scratch, target);
      return { rootfs: join(target, "rootfs"), builtAt: built.builtAt };
    } catch (err) {
      await rm(scratch, { recursive: true, force: true });
      throw err;
    }
  }

  return {
    /** One build per suite at a time; concurrent callers share it. */
    get(suite: string, onLine: (line: string) => void): Promise<DebianRootfs> {
      let pending = building.get(suite);
      if (!pending) {
        pending = build(suite, onLine).finally(() => building.delete(suite));
        building.set(suite, pending);
      }
      return pending;
    },
  };
}
