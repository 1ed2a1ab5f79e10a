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
import { unshiftLayer } from "./unshift.js";

export interface BuildFiles {
  /** The uploaded tar of a COPY step's files, by their hash; undefined when never uploaded. */
  find(filesHash: string): Promise<{ path: string; gzip: boolean } | undefined>;
}

export interface NodeStepRunnerOptions {
  manager: Pick<SandboxManager, "createBuildSandbox" | "kill">;
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
 * it (same isolation and limits as any sandbox, internet allowed), with its writable layer in
 * the step's staged dir, runs there through envd, and is killed; the staged dir then holds just
 * the step's changes, with the ids shifted back to the template's own.
 */
export function createNodeStepRunner(options: NodeStepRunnerOptions): StepRunner {
  const stepTimeoutMs = options.stepTimeoutMs ?? HOUR;

  async function inSandbox<T>(ctx: StepContext, fn: (address: string, token: string) => Promise<T>): Promise<T> {
    const [lowerDir, ...layers] = ctx.lower;
    if (!lowerDir) throw new NodeError("invalid_argument", "a build step needs at least one layer below it");
    const workDir = join(ctx.upperDir, "..", "work");
    await mkdir(workDir, { recursive: true });
    const token = randomBytes(24).toString("base64url");
    // The source's own start command is not part of a step: only the finalize check starts one.
    const { startCmd: _start, readyCmd: _ready, ...source } = options.manifest;
    const manifest: TemplateManifest = {
      ...source,
      defaults: { ...source.defaults, user: ctx.state.user, workdir: ctx.state.workdir, env: ctx.state.env },
    };
    const info = await options.manager.createBuildSandbox(
      { manifest, rootfs: lowerDir, layers, build: { upperDir: ctx.upperDir, workDir } },
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
    try {
      return await fn(info.envdAddress, token);
    } finally {
      await options.manager.kill(info.sandboxId).catch(() => undefined);
      await rm(workDir, { recursive: true, force: true });
      if (shift) await unshiftLayer(ctx.upperDir, shift);
    }
  }

  const exec = (address: string, token: string, ctx: StepContext, command: string, user: string) =>
    execInSandbox(address, token, { command, user, cwd: ctx.state.workdir, env: ctx.state.env, onLine: ctx.onOutput, signal: ctx.signal });

  return {
    run: (ctx, command, user) => inSandbox(ctx, (address, token) => exec(address, token, ctx, command, user)),

    async copy(ctx, input) {
      const files = await options.files.find(input.filesHash);
      if (!files) throw new NodeError("not_found", `the files of this COPY (hash ${input.filesHash}) were never uploaded`);
      // The tar goes into the step's writable layer before the sandbox starts: visible inside,
      // owned by host root (so nothing in the sandbox can alter it), removed after.
      await mkdir(join(ctx.upperDir, stagingDir), { mode: 0o755 });
      await copyFile(files.path, join(ctx.upperDir, stagingDir, "files.tar"));
      // The store keeps uploads 0600; inside, root is not the file's owner and must be let read it.
      await chmod(join(ctx.upperDir, stagingDir, "files.tar"), 0o644);
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
        const code = await inSandbox(ctx, (address, token) => exec(address, token, ctx, script, "root"));
        if (code !== 0) throw new NodeError("runtime_failed", `placing the files exited with code ${code}`);
      } finally {
        await rm(join(ctx.upperDir, stagingDir), { recursive: true, force: true });
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
