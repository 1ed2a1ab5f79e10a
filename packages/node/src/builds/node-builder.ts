import { join } from "node:path";
import { createDiskLayerStore, createImageCache, pullImage } from "@cove/builder";
import type { SandboxManager } from "../sandbox/manager.js";
import type { TemplateStore } from "../templates/template-store.js";
import { type BuildFileStore, createBuildFileStore } from "./build-files.js";
import type { SourceDeps } from "./build-source.js";
import { readExtraCaCerts } from "./ca-layer.js";
import { type BuildRecords, createBuildRecords } from "./build-records.js";
import { collectLayers } from "./collect-layers.js";
import { createDebianRootfs } from "./debian-rootfs.js";
import { createNodeStepRunner } from "./step-runner.js";
import { type BuiltTemplate, buildTemplate, type TemplateBuildRequest } from "./template-builder.js";

/** Template builds on this node: the layer cache, uploaded build files, and build sandboxes from the node's own manager. */
export interface NodeTemplateBuilder {
  build(req: TemplateBuildRequest): Promise<BuiltTemplate>;
  files: BuildFileStore;
  /** Every build's status and log, kept 7 days (a restarted api or `cove template logs` reads them). */
  records: BuildRecords;
  /** Removes layers nothing uses past the cache window (skipped while a build runs); returns their ids. */
  collect(): Promise<string[]>;
}

export interface NodeTemplateBuilderOptions {
  manager: Pick<SandboxManager, "createBuildSandbox" | "killBuildSandbox">;
  templates: TemplateStore;
  /** Holds `layers/` and `build-files/`. */
  dataDir: string;
  /** The template store's dir: unused builds of templates with their own files (code-interpreter-v1) are collected there. */
  templatesDir?: string;
  /** Longest a build's ready command may take to pass. */
  readyTimeoutMs?: number;
  /** Registry → mirror URLs, tried first (COVE_REGISTRY_MIRRORS). */
  registryMirrors?: Record<string, string[]>;
  /** Registries reached over plain http (COVE_INSECURE_REGISTRIES). */
  insecureRegistries?: string[];
  /** A PEM bundle or a directory of `*.crt` every build trusts (COVE_EXTRA_CA_CERTS); "" = none. */
  extraCaCerts?: string;
  /** The lower dirs of every sandbox on the node, so collection never removes a layer in use. */
  sandboxLowerDirs?: () => Promise<string[]>;
  /** Unused layers are kept this long as a build cache (COVE_LAYER_CACHE_HOURS). Default 7 days. */
  layerCacheMs?: number;
  /** When `debian:<suite>` is made from the Debian mirror (COVE_DEBIAN_IMAGES). Default registry only. */
  debianImages?: "local" | "auto" | "registry";
}

export async function createNodeTemplateBuilder(options: NodeTemplateBuilderOptions): Promise<NodeTemplateBuilder> {
  const layers = await createDiskLayerStore(join(options.dataDir, "layers"));
  // Steps interrupted by a node restart left their staged dirs; their builds have failed.
  await layers.clearStaging();
  const files = await createBuildFileStore(join(options.dataDir, "build-files"));
  const records = await createBuildRecords(join(options.dataDir, "builds"));
  await records.recover(7 * 24 * 3_600_000);
  const extraCaCerts = options.extraCaCerts ? await readExtraCaCerts(options.extraCaCerts) : "";
  const images = createImageCache(join(options.dataDir, "images"));
  const debian = createDebianRootfs(join(options.dataDir, "debian"));
  const pull: SourceDeps["pull"] = (reference, credentials, log) =>
    pullImage({
      reference,
      cache: images,
      credentials,
      mirrors: options.registryMirrors,
      insecureRegistries: options.insecureRegistries,
      onProgress: (p) => {
        if (p.phase === "done") {
          const mb = (p.total / 1e6).toFixed(1);
          log({
            level: "info",
            message: `layer ${p.index + 1}/${p.count} ${p.layer.slice(7, 19)}: ${p.cached ? "cached" : `${mb} MB pulled and unpacked`}`,
            step: "base",
          });
        }
      },
    });
  let building = 0;
  // A build waits for a collection in progress: it may reuse a cached layer collection is removing.
  let collecting: Promise<string[]> | undefined;
  const collect = async () => {
    if (building > 0) return [];
    collecting ??= collectLayers({
      layers,
      templates: options.templates,
      sandboxLowerDirs: options.sandboxLowerDirs ?? (async () => []),
      keepMs: options.layerCacheMs ?? 7 * 24 * 3_600_000,
      imagesDir: join(options.dataDir, "images"),
      ...(options.templatesDir ? { templatesDir: options.templatesDir } : {}),
    }).finally(() => {
      collecting = undefined;
    });
    return collecting;
  };
  const build = (req: TemplateBuildRequest) =>
    buildTemplate(
      {
        templates: options.templates,
        layers,
        pull,
        debian,
        debianImages: options.debianImages ?? "registry",
        extraCaCerts,
        runnerFor: (manifest) =>
          createNodeStepRunner({
            manager: options.manager,
            manifest,
            files,
            ...(options.readyTimeoutMs ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
          }),
      },
      req,
    );
  return {
    files,
    records,
    collect,
    async build(req) {
      building++;
      try {
        await collecting?.catch(() => []);
        return await build(req);
      } finally {
        building--;
        // Replaced layers of a rebuilt template, and the window's expired cache, go now.
        await collect().catch(() => []);
      }
    },
  };
}
