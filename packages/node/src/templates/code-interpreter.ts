import { existsSync } from "node:fs";
import { cp, mkdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { hashTree } from "../envd-runtime.js";
import { NodeError } from "../errors.js";
import {
  type BuildProgress,
  type BuildResult,
  buildBaseTemplate,
  installBuild,
  startBuild,
  readManifest,
  type TemplateManifest,
  templateDir,
} from "./base-template.js";
import { runInChroot, runStep } from "./chroot.js";
import { CODE_INTERPRETER_TEMPLATE } from "./template-ref.js";

// Bumped when the recipe changes; the interpreter's own changes are caught by its hash.
// 2: the server runs as root, warms python and javascript, and is restarted if it dies.
const RECIPE = 2;
const PORT = 49999;
const ENVD_URL = "http://127.0.0.1:49983";
/** Where the template keeps the execution server (packages/interpreter/build/runtime). */
const SERVER_DIR = "/opt/cove/interpreter";
/**
 * What the python kernel needs (IPython, matplotlib-inline for figures, pandas and numpy for
 * data) and the scientific stack Debian ships that E2B's template also carries.
 */
export const CODE_INTERPRETER_PACKAGES = [
  "python3-ipython",
  "python3-matplotlib",
  "python3-matplotlib-inline",
  "python3-numpy",
  "python3-pandas",
  "python3-scipy",
  "python3-sklearn",
  "python3-seaborn",
  "python3-statsmodels",
  "python3-sympy",
  "python3-plotly",
  "python3-openpyxl",
  "python3-xlrd",
  "python3-bs4",
  "python3-requests",
  "python3-pil",
  "python3-tabulate",
];

/** Names the packages layer's recipe: change the version when installPackages changes. */
const PACKAGES_KEY = `1:${CODE_INTERPRETER_PACKAGES.join(",")}`;

export interface BuildCodeInterpreterOptions {
  dataDir: string;
  /** The bundled execution server (packages/interpreter/build/runtime). */
  serverDir: string;
  force?: boolean;
  /** Debian mirror for base, when base has to be built first. */
  mirror?: string;
  onProgress?: (progress: BuildProgress) => void;
}

/** What a code-interpreter build was made from: a change to any of them is a rebuild. */
interface Provenance {
  recipe: number;
  /** The package list (and how it is installed): what the packages layer depends on besides base. */
  packages?: string;
  base: string;
  server: string;
}

/**
 * Builds (or reuses) `code-interpreter-v1` (decision 0023): base's root filesystem (hard links,
 * so rebuilding base never changes it), a layer of Debian's Python packages installed by apt
 * in a chroot over it, and a layer holding the execution server, which the template starts
 * (port 49999, ready once it answers /health). Like base it is built on the host from trusted
 * inputs only; nothing runs in a sandbox. Each build is a dir of its own under `builds/` that
 * never changes (sandboxes of an older build keep running from theirs; the node removes a build
 * once neither the template nor a sandbox uses it), and `template.json` moves to a new one in
 * one rename. A build whose base is unchanged reuses the previous one's rootfs and packages.
 */
export async function buildCodeInterpreterTemplate(options: BuildCodeInterpreterOptions): Promise<BuildResult> {
  if (!existsSync(join(options.serverDir, "server.js"))) {
    throw new NodeError("unavailable", `no execution server at ${options.serverDir}: run npm run build in packages/interpreter`);
  }
  const steps = 5;
  const report = (step: number, title: string, detail?: string) => options.onProgress?.({ step, steps, title, ...(detail === undefined ? {} : { detail }) });
  report(1, "base template");
  const base = await buildBaseTemplate({ dataDir: options.dataDir, ...(options.mirror ? { mirror: options.mirror } : {}) });
  const provenance: Provenance = {
    recipe: RECIPE,
    packages: PACKAGES_KEY,
    base: base.manifest.builtAt,
    server: (await hashTree(options.serverDir)).slice(0, 16),
  };

  const dir = templateDir(options.dataDir, CODE_INTERPRETER_TEMPLATE);
  const existing = (await readManifest(dir)) as (TemplateManifest & { provenance?: Provenance }) | undefined;
  const built = existing?.provenance;
  if (existing && built && sameProvenance(built, provenance) && !options.force) return { manifest: existing, reused: true, dir };

  const { id, scratch } = await startBuild(dir);
  try {
    // The rootfs and packages only depend on base and the package list: a new server or start command reuses them.
    const previous = existing?.layers?.[0];
    const reuse = existing && built && previous && (built.packages ?? PACKAGES_KEY) === provenance.packages && built.base === provenance.base && !options.force;
    let rootfs = `builds/${id}/rootfs`;
    let packages = `builds/${id}/packages`;
    if (reuse) {
      report(2, "root filesystem and Debian's Python packages (unchanged, reused)");
      rootfs = existing.rootfs;
      packages = previous;
    } else {
      report(2, "root filesystem from base");
      // Hard links: a rebuilt base gets new inodes, so this template keeps the files it was built on.
      await runStep(["cp", "-al", "--", resolve(base.dir, base.manifest.rootfs), join(scratch, "rootfs")]);
      const title = `apt-get install ${CODE_INTERPRETER_PACKAGES.length} Python packages`;
      report(3, title);
      await installPackages(scratch, (line) => report(3, title, line));
    }
    report(4, "execution server");
    const serverLayer = join(scratch, "server");
    await mkdir(join(serverLayer, "opt", "cove"), { recursive: true, mode: 0o755 });
    await cp(options.serverDir, join(serverLayer, SERVER_DIR), { recursive: true });
    await runStep(["chown", "-R", "0:0", "--", serverLayer]);
    await runStep(["chmod", "-R", "a+rX,go-w", "--", serverLayer]);

    report(5, "install template");
    const manifest: TemplateManifest & { provenance: Provenance } = {
      name: CODE_INTERPRETER_TEMPLATE,
      recipe: RECIPE,
      builtAt: new Date().toISOString(),
      // Relative to the template's dir: the template carries its own files.
      rootfs,
      layers: [packages, `builds/${id}/server`],
      startCmd: startCommand(),
      readyCmd: `curl -sf -o /dev/null http://127.0.0.1:${PORT}/health`,
      // As E2B's: kernels may use any directory (a context in /root) and install system packages.
      startUser: "root",
      defaults: { ...base.manifest.defaults, memoryMB: Math.max(base.manifest.defaults.memoryMB, 1024) },
      provenance,
    };
    await installBuild(dir, id, manifest);
    return { manifest, reused: false, dir };
  } catch (err) {
    await rm(scratch, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The template's start command, run by envd as root. The server runs on the node of /.cove (the
 * envd runtime), asks envd whether an /execute's token is the sandbox's, and starts the default
 * python and javascript kernels before it listens (as E2B's server does), so the first runCode
 * does not wait. A loop starts it again if it dies (killed by code in the sandbox, say).
 */
function startCommand(): string {
  const server = [
    "/.cove/lib/ld-linux-x86-64.so.2 --library-path /.cove/lib /.cove/node",
    `${SERVER_DIR}/server.js --port ${PORT} --envd-url ${ENVD_URL} --node ${SERVER_DIR}/node --warm python,javascript --log-level warn`,
  ].join(" ");
  return `while true; do ${server}; sleep 1; done`;
}

function sameProvenance(a: Provenance, b: Provenance): boolean {
  return a.recipe === b.recipe && a.packages === b.packages && a.base === b.base && a.server === b.server;
}

/**
 * apt-get in a chroot of an overlay (base's files below, the packages layer above), in a mount
 * namespace of its own so nothing stays mounted. Only Debian's packages run here, as for base.
 */
async function installPackages(scratch: string, onLine: (line: string) => void): Promise<void> {
  const work = join(scratch, "work");
  const root = join(scratch, "mnt");
  await mkdir(join(scratch, "packages"), { mode: 0o755 });
  await mkdir(work, { mode: 0o700 });
  await mkdir(root, { mode: 0o700 });
  const inside = [
    "set -e",
    // No service may start inside the build.
    "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d",
    "apt-get update -q",
    `apt-get install -y -q --no-install-recommends ${CODE_INTERPRETER_PACKAGES.join(" ")}`,
    // matplotlib's font cache, made once here rather than on every sandbox's first plot.
    "runuser -u user -- env HOME=/home/user python3 -c 'import matplotlib.pyplot' >/dev/null",
    "apt-get clean",
    "find /var/lib/apt/lists -type f -delete",
    "rm -f /usr/sbin/policy-rc.d",
  ].join("\n");
  await runInChroot(join(scratch, "rootfs"), ["/bin/sh", "-c", inside], {
    overlay: { upperDir: join(scratch, "packages"), workDir: work, mountPoint: root },
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive", LC_ALL: "C", HOME: "/root" },
    onLine,
  });
  await rm(work, { recursive: true, force: true });
  await rm(root, { recursive: true, force: true });
}
