import { readdir, rename, rm } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { NodeError } from "../errors.js";
import { readManifest, type TemplateManifest } from "./base-template.js";

export interface ResolvedTemplate {
  manifest: TemplateManifest;
  /** Absolute path of the template's root filesystem (the overlay's lower dir). */
  rootfs: string;
  /** Layers stacked on `rootfs`, bottom first (a built template's steps). */
  layers?: string[];
  /** Set for a template build step's sandbox: its writable layer lives here and becomes the step's layer. */
  build?: { upperDir: string; workDir: string };
}

/** Finds built templates by name in a templates directory (`<dir>/<name>/template.json`). */
export interface TemplateStore {
  resolve(templateId: string): Promise<ResolvedTemplate>;
  list(): Promise<TemplateManifest[]>;
  /** Removes a built template's manifest (its layers stay: running sandboxes use them); `owner` must be the template's. */
  remove(templateId: string, owner?: string): Promise<void>;
}

const templateName = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function createTemplateStore(templatesDir: string): TemplateStore {
  // No cache: the manifest is one small file, and a rebuild replaces it.
  return {
    async resolve(templateId) {
      if (!templateName.test(templateId)) throw new NodeError("invalid_argument", `invalid template id '${templateId}'`);
      const dir = join(templatesDir, templateId);
      const manifest = await readManifest(dir);
      if (!manifest) throw new NodeError("not_found", `template '${templateId}' not found (build it with: cove template build ${templateId})`);
      return { manifest, rootfs: resolve(dir, manifest.rootfs), ...(manifest.layers?.length ? { layers: manifest.layers } : {}) };
    },
    async remove(templateId, owner) {
      if (!templateName.test(templateId)) throw new NodeError("invalid_argument", `invalid template id '${templateId}'`);
      if (templateId === "base") throw new NodeError("invalid_argument", "base cannot be deleted: cove up builds it and every template starts from it");
      const dir = join(templatesDir, templateId);
      const manifest = await readManifest(dir);
      if (!manifest) throw new NodeError("not_found", `template '${templateId}' not found`);
      // Another team's template is as good as absent to the caller.
      if (manifest.owner !== owner) throw new NodeError("not_found", `template '${templateId}' not found`);
      // A template built in steps holds only its manifest; one with its own rootfs (an older
      // recipe) keeps it until no sandbox runs from it: move it aside instead of deleting under them.
      if (manifest.layers !== undefined || isAbsolute(manifest.rootfs)) await rm(dir, { recursive: true, force: true });
      else await rename(dir, join(templatesDir, `.deleted-${templateId}-${Date.now()}`));
    },
    async list() {
      let names: string[] = [];
      try {
        names = (await readdir(templatesDir)).filter((n) => templateName.test(n));
      } catch {
        return [];
      }
      const manifests = await Promise.all(names.map((n) => readManifest(join(templatesDir, n))));
      return manifests.filter((m): m is TemplateManifest => m !== undefined);
    },
  };
}
