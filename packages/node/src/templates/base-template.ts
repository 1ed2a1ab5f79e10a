import { randomBytes } from "node:crypto";
import { chmod, lstat, mkdir, readFile, rename, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CA_ENV, readExtraCaCerts } from "../builds/ca-layer.js";
import { NodeError } from "../errors.js";
import { findDebianMirror, readAptSources } from "./apt-mirror.js";
import { runInChroot, runStep } from "./chroot.js";

/** What a template is: a root filesystem plus the defaults sandboxes get from it. */
export interface TemplateManifest {
  name: string;
  /** Bumped when the recipe changes, so a cached build of an older recipe is rebuilt. */
  recipe: number;
  builtAt: string;
  /** The root filesystem: relative to the template's dir, or absolute (a built template's source). */
  rootfs: string;
  /** Build layers stacked on `rootfs`, bottom first (absolute). */
  layers?: string[];
  /** Who built it through the api (a team id); absent for base and operator builds. */
  owner?: string;
  /** The build this manifest records (the api's build id; absent for base and older builds). */
  buildId?: string;
  /** When this tag was pointed at the build (absent: when it was built). */
  taggedAt?: string;
  /** Started when a sandbox starts from the template; `readyCmd` then polled until it exits 0. */
  startCmd?: string;
  readyCmd?: string;
  /** Who runs them (default: the template's user). code-interpreter-v1's server runs as root, as E2B's. */
  startUser?: string;
  defaults: { user: string; workdir: string; env: Record<string, string>; cpuCount: number; memoryMB: number; diskMB: number };
}

export interface BuildProgress {
  step: number;
  steps: number;
  title: string;
  /** A line printed by the tool doing the step, when there is one. */
  detail?: string;
}

export interface BuildBaseOptions {
  dataDir: string;
  /** Rebuild even when a build of the current recipe exists. */
  force?: boolean;
  /** Debian mirror; defaults to the one this machine's apt uses. */
  mirror?: string;
  /**
   * CA certificates base trusts (a PEM file or a dir of `*.crt`; "" = none), for hosts behind a
   * TLS-intercepting proxy. Default: COVE_EXTRA_CA_CERTS, else the host's local anchors.
   */
  extraCaCerts?: string;
  onProgress?: (progress: BuildProgress) => void;
}

export interface BuildResult {
  manifest: TemplateManifest;
  reused: boolean;
  dir: string;
}

// 2: the operator's extra CA certificates are trusted.
const RECIPE = 2;
const SUITE = "bookworm";
/** What the e2b SDK expects of its `base` template. */
const PACKAGES = ["bash", "coreutils", "python3", "python3-pip", "nodejs", "npm", "git", "curl", "ca-certificates", "sudo", "procps"];

export function templateDir(dataDir: string, name: string): string {
  return join(dataDir, "templates", name);
}

export async function readManifest(dir: string): Promise<TemplateManifest | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, "template.json"), "utf8")) as TemplateManifest;
  } catch {
    return undefined;
  }
}

/**
 * Builds (or reuses) the `base` template: Debian minbase by debootstrap, then
 * the SDK's expected tools installed by apt inside it (debootstrap's own
 * --include cannot configure npm's dependency tree), and the user `user`
 * (uid 1000, passwordless sudo). Builds in a scratch dir and renames into
 * place, so an interrupted build never leaves a half template behind.
 */
export async function buildBaseTemplate(options: BuildBaseOptions): Promise<BuildResult> {
  const dir = templateDir(options.dataDir, "base");
  const existing = await readManifest(dir);
  if (existing && existing.recipe === RECIPE && !options.force) return { manifest: existing, reused: true, dir };

  const mirror = options.mirror ?? findDebianMirror(readAptSources(), SUITE);
  if (!mirror) throw new NodeError("unavailable", `no Debian ${SUITE} mirror found in /etc/apt; pass one explicitly`);
  const steps = 5;
  const report = (step: number, title: string, detail?: string) => options.onProgress?.({ step, steps, title, ...(detail === undefined ? {} : { detail }) });

  // Each build is a dir of its own that never changes (sandboxes of an older build keep running
  // from theirs; the node collects a build once nothing uses it), made under a scratch name.
  const { id, scratch } = await startBuild(dir);
  const rootfs = join(scratch, "rootfs");
  try {
    report(1, "debootstrap (Debian minbase)");
    await runStep(["debootstrap", "--variant=minbase", SUITE, rootfs, mirror], {
      onLine: (line) => report(1, "debootstrap (Debian minbase)", line),
    });

    report(2, `apt-get install ${PACKAGES.length} packages`);
    // No service may start inside the build.
    await writeFile(join(rootfs, "usr/sbin/policy-rc.d"), "#!/bin/sh\nexit 101\n", { mode: 0o755 });
    await writeFile(join(rootfs, "etc/resolv.conf"), await readFile("/etc/resolv.conf").catch(() => Buffer.alloc(0)));
    const aptEnv = { ...process.env, DEBIAN_FRONTEND: "noninteractive", LC_ALL: "C" };
    await runInChroot(rootfs, ["apt-get", "install", "-y", "-q", "--no-install-recommends", ...PACKAGES], {
      env: aptEnv,
      onLine: (line) => report(2, `apt-get install ${PACKAGES.length} packages`, line),
    });

    const pem = await readExtraCaCerts(options.extraCaCerts ?? process.env.COVE_EXTRA_CA_CERTS ?? "/usr/local/share/ca-certificates");
    if (pem) {
      // As built templates get them (ca-layer.ts): in the system store, and alone for Node. The
      // .crt's name differs from the Node bundle's, whose path update-ca-certificates would make a
      // symlink (absolute: a write through it from here would land on the host); "wx" never follows one.
      await writeFile(join(rootfs, "usr/local/share/ca-certificates/cove-operator-ca.crt"), pem, { mode: 0o644, flag: "wx" });
      await runInChroot(rootfs, ["update-ca-certificates"], { env: aptEnv });
      await writeFile(join(rootfs, CA_ENV.NODE_EXTRA_CA_CERTS ?? ""), pem, { mode: 0o644, flag: "wx" });
    }

    report(3, "user `user` (uid 1000, passwordless sudo)");
    await runInChroot(rootfs, ["useradd", "--create-home", "--uid", "1000", "--shell", "/bin/bash", "--groups", "sudo", "user"]);
    await writeFile(join(rootfs, "etc/sudoers.d/90-user"), "user ALL=(ALL) NOPASSWD:ALL\n");
    await chmod(join(rootfs, "etc/sudoers.d/90-user"), 0o440);

    report(4, "clean up apt caches");
    await runInChroot(rootfs, ["apt-get", "clean"], { env: aptEnv });
    await rm(join(rootfs, "var/lib/apt/lists"), { recursive: true, force: true });
    await mkdir(join(rootfs, "var/lib/apt/lists/partial"), { recursive: true });
    await rm(join(rootfs, "usr/sbin/policy-rc.d"), { force: true });

    report(5, "install template");
    const manifest: TemplateManifest = {
      name: "base",
      recipe: RECIPE,
      builtAt: new Date().toISOString(),
      rootfs: `builds/${id}/rootfs`,
      defaults: { user: "user", workdir: "/home/user", env: pem ? { ...CA_ENV } : {}, cpuCount: 2, memoryMB: 512, diskMB: 2048 },
    };
    await installBuild(dir, id, manifest);
    return { manifest, reused: false, dir };
  } catch (err) {
    await rm(scratch, { recursive: true, force: true });
    throw err;
  }
}

/** A new build's id and its scratch dir (`builds/.tmp-<id>`), made. */
export async function startBuild(dir: string): Promise<{ id: string; scratch: string }> {
  const id = `${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
  const scratch = join(dir, "builds", `.tmp-${id}`);
  // 0700 also for the templates dir if this makes it: a rootfs holds its distribution's setuid binaries.
  await mkdir(scratch, { recursive: true, mode: 0o700 });
  return { id, scratch };
}

/**
 * Puts a finished build (`builds/.tmp-<id>`) in place: renamed to `builds/<id>` (marked recent,
 * so the node's collection leaves it alone while the manifest switches), `template.json`
 * replaced in one rename, and `rootfs` made a link to the build's for tools that read a
 * template's files (a real `rootfs` dir of an older layout is left as it is).
 */
export async function installBuild(dir: string, id: string, manifest: TemplateManifest): Promise<void> {
  const now = new Date();
  await utimes(join(dir, "builds", `.tmp-${id}`), now, now);
  await rename(join(dir, "builds", `.tmp-${id}`), join(dir, "builds", id));
  const tmp = join(dir, `template.json.${id}.tmp`);
  await writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, join(dir, "template.json"));
  const link = join(dir, "rootfs");
  const current = await lstat(link).catch(() => undefined);
  if (current && !current.isSymbolicLink()) return;
  await symlink(manifest.rootfs, `${link}.${id}.tmp`);
  await rename(`${link}.${id}.tmp`, link);
}
