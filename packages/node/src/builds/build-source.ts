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
import { type DebianRootfs, debianSuiteOf } from "./debian-rootfs.js";

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
  /** `debian:<suite>` made from the Debian mirror (absent: only pulled). */
  debian?: { get(suite: string, onLine: (line: string) => void): Promise<DebianRootfs> };
  /** When `debian:<suite>` is made locally: always, when the registry is unreachable, or never (default). */
  debianImages?: "local" | "auto" | "registry";
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
  /** The building team: another team's private template is not a source. */
  owner?: string,
): Promise<ResolvedBuildSource> {
  if (source.kind === "template" || BASE_IMAGES.has(source.kind === "image" ? source.image : "")) {
    const name = source.kind === "template" ? source.template : "base";
    const t = await deps.templates.resolve(name, owner);
    const d = t.manifest.defaults;
    return {
      lower: [t.rootfs, ...(t.layers ?? [])],
      key: sourceKey({ kind: "template", buildId: `${t.manifest.name}@${t.manifest.builtAt}` }),
      initial: { ...initialState(d.env), user: d.user, workdir: d.workdir },
      manifest: t.manifest,
    };
  }
  const image = await imageLayers(deps, source.image, source.credentials, log);
  const env = image.env;
  const manifest: TemplateManifest = {
    name: image.reference,
    recipe: 1,
    builtAt: new Date().toISOString(),
    rootfs: image.lower[0] ?? "",
    defaults: { ...IMAGE_DEFAULTS, env },
  };
  const lower = image.lower;
  const provision = await provisionImage(deps, manifest, lower, image.key, env, log, signal);
  return {
    lower: provision.empty ? lower : [...lower, provision.dir],
    key: provision.key,
    initial: initialState(env),
    manifest,
  };
}

/** What a Docker `debian` image's config sets. */
const DEBIAN_ENV = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };

interface ImageLayers {
  reference: string;
  lower: string[];
  key: string;
  env: Record<string, string>;
}

/**
 * An image's layers: pulled, or for `debian:<suite>` made from the Debian mirror when the node
 * is told to (`local`) or the registry cannot be reached (`auto`).
 */
async function imageLayers(
  deps: SourceDeps,
  reference: string,
  credentials: RegistryCredentials | undefined,
  log: (entry: BuildLogEntry) => void,
): Promise<ImageLayers> {
  const suite = debianSuiteOf(reference);
  const mode = deps.debianImages ?? "registry";
  const local = async (): Promise<ImageLayers> => {
    if (!suite || !deps.debian) throw new NodeError("invalid_argument", `${reference} cannot be made locally`);
    log({ level: "info", message: `making debian:${suite} from the Debian mirror (debootstrap, once per suite)`, step: "base" });
    const made = await deps.debian.get(suite, (line) => log({ level: "debug", message: line, step: "base" }));
    return {
      reference: `debian:${suite}`,
      lower: [made.rootfs],
      key: sourceKey({ kind: "image", digest: `debootstrap:${suite}@${made.builtAt}` }),
      env: DEBIAN_ENV,
    };
  };
  if (suite && deps.debian && mode === "local") return local();
  if (!deps.pull) throw new NodeError("invalid_argument", "this node cannot pull images");
  log({ level: "info", message: `pulling ${reference}`, step: "base" });
  try {
    const image = await deps.pull(reference, credentials, log);
    if (image.layers.length === 0) throw new BuildStepError("invalid_image", "base", `${image.reference} has no layers`);
    return {
      reference: image.reference,
      lower: image.layers.map((l) => l.dir),
      key: sourceKey({ kind: "image", digest: image.digest }),
      env: envOf(image.config.env),
    };
  } catch (err) {
    if (suite && deps.debian && mode === "auto" && err instanceof BuilderError && err.code === "registry_unreachable") {
      log({ level: "warn", message: `${err.message}; making debian:${suite} locally instead`, step: "base" });
      return local();
    }
    // A pull is E2B's "base" step: failures name it, so callers can tell them from a step's.
    if (err instanceof BuilderError && !(err instanceof BuildStepError)) throw new BuildStepError(err.code, "base", err.message, [], { cause: err });
    throw err;
  }
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
