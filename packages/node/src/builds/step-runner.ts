import { randomBytes } from "node:crypto";
import { chmod, copyFile, mkdir, rm } from "node:fs/promises";
import { join, posix } from "node:path";
import type { StepContext, StepRunner } from "@cove/builder";
import { NodeError } from "../errors.js";
import type { SandboxManager } from "../sandbox/manager.js";
import type { TemplateManifest } from "../templates/base-template.js";
import { copyScript } from "./copy-script.js";
import { execInSandbox } from "../sandbox/envd-exec.js";
import { startAndAwaitReady } from "../sandbox/template-start.js";
import { runCommand } from "../exec/run-command.js";
import { unshiftLayer } from "./unshift.js";

export interface BuildFiles {
  /** The uploaded tar of a COPY step's files, by their hash; undefined when never uploaded. */
  find(filesHash: string): Promise<{ path: string; gzip: boolean } | undefined>;
}

export interface NodeStepRunnerOptions {
  manager: Pick<SandboxManager, "createBuildSandbox" | "killBuildSandbox">;
  /** The template whose settings (cpu, memory, disk) build sandboxes get. */
  manifest: TemplateManifest;
  files: BuildFiles;
  cpuCount?: number;
  memoryMB?: number;
  /** Longest a step may run. */
  stepTimeoutMs?: number;
  /** Longest the ready command may take to pass. */
  readyTimeoutMs?: number;
}

const HOUR = 3_600_000;
/** Where a COPY step's tar appears inside its build sandbox (placed on the host, removed after). */
const stagingDir = ".cove-build";

/**
 * Runs template build steps in real sandboxes: each step boots a sandbox over the layers below
 * it (same isolation and limits as any sandbox, its disk size included; internet allowed), runs
 * there through envd, and is killed; between the kill and the release of its disk, its writable
 * layer (just the step's changes) is copied into the step's staged dir, ids shifted back to the
 * template's own. A step can fill its own disk, never the host's.
 */
export function createNodeStepRunner(options: NodeStepRunnerOptions): StepRunner {
  const stepTimeoutMs = options.stepTimeoutMs ?? HOUR;

  /** `extraLayer`: a read-only dir stacked on top (a COPY's tar). */
  async function inSandbox<T>(ctx: StepContext, fn: (address: string, token: string) => Promise<T>, extraLayer?: string): Promise<T> {
    const [lowerDir, ...layers] = ctx.lower;
    if (!lowerDir) throw new NodeError("invalid_argument", "a build step needs at least one layer below it");
    const token = randomBytes(24).toString("base64url");
    // The source's own start command is not part of a step: only the finalize check starts one.
    const { startCmd: _start, readyCmd: _ready, startUser: _user, ...source } = options.manifest;
    const manifest: TemplateManifest = {
      ...source,
      defaults: { ...source.defaults, user: ctx.state.user, workdir: ctx.state.workdir, env: ctx.state.env },
    };
    const info = await options.manager.createBuildSandbox(
      { manifest, rootfs: lowerDir, layers: extraLayer ? [...layers, extraLayer] : layers, build: {} },
      {
        templateId: manifest.name,
        timeoutMs: stepTimeoutMs,
        allowInternetAccess: true,
        envdAccessToken: token,
        ...(options.cpuCount ? { cpuCount: options.cpuCount } : {}),
        ...(options.memoryMB ? { memoryMB: options.memoryMB } : {}),
      },
    );
    const shift = info.uidBase;
    let result: T | undefined;
    let failed: unknown;
    try {
      result = await fn(info.envdAddress, token);
    } catch (err) {
      failed = err;
    }
    // A failed step's changes are not kept: its layer is discarded.
    const harvest = failed === undefined ? (upper: string) => copyLayer(upper, ctx.upperDir) : async () => {};
    const killed = await options.manager.killBuildSandbox(info.sandboxId, harvest).catch((err: unknown) => err ?? new Error("kill failed"));
    if (failed !== undefined) throw failed;
    if (killed !== undefined) throw new NodeError("runtime_failed", "could not keep the step's changes", { cause: killed });
    if (shift) await unshiftLayer(ctx.upperDir, shift);
    return result as T;
  }

  const exec = (address: string, token: string, ctx: StepContext, command: string, user: string) =>
    execInSandbox(address, token, { command, user, cwd: ctx.state.workdir, env: ctx.state.env, onLine: ctx.onOutput, signal: ctx.signal });

  return {
    run: (ctx, command, user) => inSandbox(ctx, (address, token) => exec(address, token, ctx, command, user)),

    async copy(ctx, input) {
      const files = await options.files.find(input.filesHash);
      if (!files) throw new NodeError("not_found", `the files of this COPY (hash ${input.filesHash}) were never uploaded`);
      // The tar comes in a read-only layer of its own on top: visible inside, owned by host root
      // (nothing in the sandbox can alter it), and not part of the step's changes.
      const filesLayer = join(ctx.upperDir, "..", "copy-files");
      await mkdir(join(filesLayer, stagingDir), { recursive: true, mode: 0o755 });
      await copyFile(files.path, join(filesLayer, stagingDir, "files.tar"));
      // The store keeps uploads 0600; inside, root is not the file's owner and must be let read it.
      await chmod(join(filesLayer, stagingDir, "files.tar"), 0o644);
      const dest = posix.resolve(ctx.state.workdir, input.dest) + (input.dest.endsWith("/") ? "/" : "");
      const script = copyScript({
        tarPath: `/${stagingDir}/files.tar`,
        gzip: files.gzip,
        src: input.src,
        dest,
        user: input.user || ctx.state.user,
        mode: input.mode,
      });
      try {
        const code = await inSandbox(ctx, (address, token) => exec(address, token, ctx, script, "root"), filesLayer);
        if (code !== 0) throw new NodeError("runtime_failed", `placing the files exited with code ${code}`);
      } finally {
        await rm(filesLayer, { recursive: true, force: true });
      }
    },

    checkStart: (ctx, check) =>
      inSandbox(ctx, (address, token) =>
        startAndAwaitReady(address, token, {
          ...check,
          user: ctx.state.user,
          workdir: ctx.state.workdir,
          env: ctx.state.env,
          timeoutMs: options.readyTimeoutMs ?? 120_000,
          onLine: ctx.onOutput,
          signal: ctx.signal,
        }),
      ),
  };
}

/**
 * Copies a stopped sandbox's writable layer into a step's staged dir, as it is: owners (still
 * shifted), modes, links, whiteouts (0:0 devices) and overlay xattrs (opaque dirs). Symlinks are
 * copied as links, never followed.
 */
async function copyLayer(from: string, to: string): Promise<void> {
  await runCommand(["cp", "-a", "--no-dereference", "--preserve=all", `${from}/.`, `${to}/`], { timeoutMs: 3_600_000 });
}
