import { createHash } from "node:crypto";
import {
  type BuildLogEntry,
  type BuildSource,
  type BuildState,
  BuilderError,
  BuildStepError,
  initialState,
  type LayerStore,
  type PulledImage,
  type RegistryCredentials,
  type StepRunner,
  sourceKey,
  userScript,
} from "@cove/builder";
import { NodeError } from "../errors.js";
import type { TemplateManifest } from "../templates/base-template.js";
import type { TemplateStore } from "../templates/template-store.js";

/** Where a build starts, resolved: its layers, cache key, first step's state and the template's defaults. */
export interface ResolvedBuildSource {
  /** The source's layers, bottom first (a template's rootfs and layers, or an image's layers and its provisioning). */
  lower: string[];
  key: string;
  initial: BuildState;
  /** The build's settings before the request's own (cpu, memory, disk); env is the source's. */
  manifest: TemplateManifest;
}

export interface SourceDeps {
  templates: TemplateStore;
  layers: LayerStore;
  /** Pulls an image (absent: builds from images are refused). */
  pull?: (reference: string, credentials: RegistryCredentials | undefined, log: (entry: BuildLogEntry) => void) => Promise<PulledImage>;
  runnerFor(manifest: TemplateManifest): StepRunner;
}

/** E2B's default base image: Cove answers it with its own `base`, so the common case needs no registry. */
const BASE_IMAGES = new Set(["e2bdev/base", "e2bdev/base:latest", "docker.io/e2bdev/base", "docker.io/e2bdev/base:latest"]);
/** What a template from an image gets unless the build asks otherwise (base's own defaults). */
const IMAGE_DEFAULTS = { user: "user", workdir: "/home/user", cpuCount: 2, memoryMB: 512, diskMB: 2048 };
/** Bumped when the provisioning script changes, so images are provisioned anew. */
const PROVISION_VERSION = 1;

export async function resolveBuildSource(
  deps: SourceDeps,
  source: BuildSource,
  log: (entry: BuildLogEntry) => void,
  signal: AbortSignal,
): Promise<ResolvedBuildSource> {
  if (source.kind === "template" || BASE_IMAGES.has(source.kind === "image" ? source.image : "")) {
    const name = source.kind === "template" ? source.template : "base";
    const t = await deps.templates.resolve(name);
    const d = t.manifest.defaults;
    return {
      lower: [t.rootfs, ...(t.layers ?? [])],
      key: sourceKey({ kind: "template", buildId: `${t.manifest.name}@${t.manifest.builtAt}` }),
      initial: { ...initialState(d.env), user: d.user, workdir: d.workdir },
      manifest: t.manifest,
    };
  }
  if (!deps.pull) throw new NodeError("invalid_argument", "this node cannot pull images");
  log({ level: "info", message: `pulling ${source.image}`, step: "base" });
  const image = await deps.pull(source.image, source.credentials, log).catch((err: unknown) => {
    // A pull is E2B's "base" step: failures name it, so callers can tell them from a step's.
    if (err instanceof BuilderError && !(err instanceof BuildStepError)) throw new BuildStepError(err.code, "base", err.message, [], { cause: err });
    throw err;
  });
  if (image.layers.length === 0) throw new BuildStepError("invalid_image", "base", `${image.reference} has no layers`);
  const env = envOf(image.config.env);
  const manifest: TemplateManifest = {
    name: image.reference,
    recipe: 1,
    builtAt: new Date().toISOString(),
    rootfs: image.layers[0]?.dir ?? "",
    defaults: { ...IMAGE_DEFAULTS, env },
  };
  const lower = image.layers.map((l) => l.dir);
  const imageKey = sourceKey({ kind: "image", digest: image.digest });
  const provision = await provisionImage(deps, manifest, lower, imageKey, env, log, signal);
  return {
    lower: provision.empty ? lower : [...lower, provision.dir],
    key: provision.key,
    initial: initialState(env),
    manifest,
  };
}

/** `KEY=value` lines of an image config as a record (a line without `=` is dropped, as Docker does). */
function envOf(lines: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf("=");
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
  }
  return env;
}

/**
 * E2B's "base" step for an image: the user `user` with its home (builds and sandboxes start as
 * it) and a world-writable /tmp. Cached per image digest like any step.
 */
async function provisionImage(
  deps: SourceDeps,
  manifest: TemplateManifest,
  lower: string[],
  imageKey: string,
  env: Record<string, string>,
  log: (entry: BuildLogEntry) => void,
  signal: AbortSignal,
) {
  const key = createHash("sha256")
    .update(JSON.stringify(["provision", PROVISION_VERSION, imageKey]))
    .digest("hex");
  const cached = await deps.layers.get(key);
  if (cached) {
    log({ level: "info", message: "CACHED provisioning (user `user`, /tmp)", step: "base" });
    return cached;
  }
  log({ level: "info", message: "provisioning the image (user `user`, /tmp)", step: "base" });
  const script = `set -e\n( ${userScript("user")}\n)\nmkdir -p /home/user /tmp\nchown "user:$(id -g user)" /home/user\nchmod 1777 /tmp`;
  const staged = await deps.layers.stage();
  const tail: string[] = [];
  try {
    const code = await deps.runnerFor(manifest).run(
      {
        lower,
        upperDir: staged.dir,
        state: { user: "root", workdir: "/", workdirSet: true, env },
        signal,
        onOutput: (_s, line) => {
          tail.push(line);
          log({ level: "info", message: line, step: "base" });
        },
      },
      script,
      "root",
    );
    if (code !== 0) throw new BuildStepError("step_failed", "base", `provisioning the image exited with code ${code}`, tail.slice(-20));
    return await deps.layers.commit(staged, key);
  } catch (err) {
    await deps.layers.discard(staged);
    throw err;
  }
}
