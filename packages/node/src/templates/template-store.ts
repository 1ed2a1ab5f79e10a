import { existsSync } from "node:fs";
import { access, mkdir, readdir, readFile, rename, rm, unlink, writeFile } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { NodeError } from "../errors.js";
import { readManifest, type TemplateManifest } from "./base-template.js";
import { DEFAULT_TAG, parseTemplateRef, TEMPLATE_ALIASES, TEMPLATE_NAME, TEMPLATE_TAG } from "./template-ref.js";

export interface ResolvedTemplate {
  manifest: TemplateManifest;
  /** `name`, or `name:tag` for a tag other than the default: what the caller asked for. */
  ref?: string;
  /** Absolute path of the template's root filesystem (the overlay's lower dir). */
  rootfs: string;
  /** Layers stacked on `rootfs`, bottom first (a built template's steps). */
  layers?: string[];
  /**
   * Set for a template build step's sandbox. Its writable layer is on its own disk (capped like any
   * sandbox's) unless `upper` puts it in a host dir, which nothing then caps.
   */
  build?: { upper?: { upperDir: string; workDir: string } };
}

/** One tag of a template: the build it points at. */
export interface TemplateTag {
  tag: string;
  manifest: TemplateManifest;
}

export interface TemplateEntry {
  name: string;
  owner?: string;
  public: boolean;
  tags: TemplateTag[];
}

/**
 * Built templates by name in a templates directory. A template is a name with tags, each
 * pointing at one build's manifest: `<dir>/<name>/template.json` is the `default` tag (the
 * one `name` alone means), `<dir>/<name>/tags/<tag>.json` the others. A `public` file
 * makes a team's template usable by every team.
 */
export interface TemplateStore {
  /** `name`, `name:tag` or `name:<build id>`; `team` (the caller) must own the template unless it is public or has no owner. */
  resolve(ref: string, team?: string): Promise<ResolvedTemplate>;
  /** Every tag's manifest of every template (layer collection reads them all). */
  list(): Promise<TemplateManifest[]>;
  entries(): Promise<TemplateEntry[]>;
  /** Points each tag at this build, atomically per tag. */
  write(manifest: TemplateManifest, tags: string[]): Promise<void>;
  /** The owner of the template of that name, if it exists: `null` for an owner-less one. */
  ownerOf(name: string): Promise<string | null | undefined>;
  /** Points more tags at the build `target` (`name:tag`) points at; returns its build id. */
  assignTags(target: string, tags: string[], owner?: string): Promise<string>;
  removeTags(name: string, tags: string[], owner?: string): Promise<void>;
  setPublic(name: string, isPublic: boolean, owner?: string): Promise<void>;
  /** Removes a built template, every tag (its layers stay: running sandboxes use them); `owner` must be the template's. */
  remove(templateId: string, owner?: string): Promise<void>;
}

/** Which template and which of its builds a sandbox runs (a rebuild or a moved tag changes `build`). */
export function templateIdentity(t: ResolvedTemplate): { ref: string; build: string } {
  return { ref: t.ref ?? t.manifest.name, build: t.manifest.buildId ?? t.manifest.builtAt };
}

const BUILD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function createTemplateStore(templatesDir: string): TemplateStore {
  const dirOf = (name: string) => join(templatesDir, name);
  const tagFile = (name: string, tag: string) => (tag === DEFAULT_TAG ? join(dirOf(name), "template.json") : join(dirOf(name), "tags", `${tag}.json`));
  const readTag = async (name: string, tag: string): Promise<TemplateManifest | undefined> => {
    try {
      return JSON.parse(await readFile(tagFile(name, tag), "utf8")) as TemplateManifest;
    } catch {
      return undefined;
    }
  };
  const tagsOf = async (name: string): Promise<TemplateTag[]> => {
    const out: TemplateTag[] = [];
    const main = await readManifest(dirOf(name));
    if (main) out.push({ tag: DEFAULT_TAG, manifest: main });
    const files = await readdir(join(dirOf(name), "tags")).catch(() => [] as string[]);
    for (const f of files.sort()) {
      const tag = f.replace(/\.json$/, "");
      if (!f.endsWith(".json") || !TEMPLATE_TAG.test(tag)) continue;
      const m = await readTag(name, tag);
      if (m) out.push({ tag, manifest: m });
    }
    return out;
  };
  const isPublic = (name: string) =>
    access(join(dirOf(name), "public")).then(
      () => true,
      () => false,
    );
  const checkName = (name: string) => {
    if (!TEMPLATE_NAME.test(name)) throw new NodeError("invalid_argument", `invalid template name '${name}'`);
  };
  const checkTags = (tags: string[]) => {
    for (const t of tags)
      if (!TEMPLATE_TAG.test(t)) throw new NodeError("invalid_argument", `invalid tag '${t}': letters, digits, '.', '_' and '-', at most 128`);
  };
  /** The template's tags, when `owner` may change it (another team's template is as good as absent). */
  const owned = async (name: string, owner: string | undefined): Promise<TemplateTag[]> => {
    checkName(name);
    const tags = await tagsOf(name);
    if (tags.length === 0 || tags[0]?.manifest.owner !== owner) throw new NodeError("not_found", `template '${name}' not found`);
    return tags;
  };
  const writeAtomic = async (file: string, text: string) => {
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, text, { mode: 0o600 });
    await rename(tmp, file);
  };

  const store: TemplateStore = {
    async resolve(ref, team) {
      const parsed = parseTemplateRef(ref);
      const { tag } = parsed;
      const alias = TEMPLATE_ALIASES[parsed.name];
      const name = alias && !existsSync(dirOf(parsed.name)) ? alias : parsed.name;
      let manifest = await readTag(name, tag);
      if (!manifest && BUILD_ID.test(tag)) manifest = (await tagsOf(name)).find((t) => t.manifest.buildId === tag)?.manifest;
      const hint = tag === DEFAULT_TAG ? ` (build it with: cove template build ${name})` : "";
      if (!manifest) {
        const others = tag === DEFAULT_TAG ? (await tagsOf(name)).map((t) => t.tag) : [];
        const tags = others.length > 0 ? `; it has tags ${others.join(", ")}: create from ${name}:${others[0]}` : hint;
        throw new NodeError("not_found", `template '${ref}' not found${tags}`);
      }
      if (team !== undefined && manifest.owner !== undefined && manifest.owner !== team && !(await isPublic(name))) {
        throw new NodeError("not_found", `template '${ref}' not found`);
      }
      const normalized = tag === DEFAULT_TAG ? name : `${name}:${tag}`;
      // A built template names its source's files (absolute); base and code-interpreter-v1 carry their own.
      const own = (path: string) => resolve(dirOf(name), path);
      return { manifest, ref: normalized, rootfs: own(manifest.rootfs), ...(manifest.layers?.length ? { layers: manifest.layers.map(own) } : {}) };
    },
    async write(manifest, tags) {
      checkName(manifest.name);
      checkTags(tags);
      await mkdir(join(dirOf(manifest.name), "tags"), { recursive: true, mode: 0o700 });
      const text = `${JSON.stringify(manifest, null, 2)}\n`;
      for (const tag of tags) await writeAtomic(tagFile(manifest.name, tag), text);
    },
    async ownerOf(name) {
      checkName(name);
      const [first] = await tagsOf(name);
      return first ? (first.manifest.owner ?? null) : undefined;
    },
    async assignTags(target, tags, owner) {
      const { name, tag } = parseTemplateRef(target);
      checkTags(tags);
      const all = await owned(name, owner);
      const source = all.find((t) => t.tag === tag || t.manifest.buildId === tag);
      if (!source) throw new NodeError("not_found", `template '${target}' not found`);
      const taggedAt = new Date().toISOString();
      await store.write({ ...source.manifest, taggedAt }, tags);
      return source.manifest.buildId ?? "";
    },
    async removeTags(name, tags, owner) {
      checkTags(tags);
      const all = await owned(name, owner);
      for (const tag of tags) {
        if (!all.some((t) => t.tag === tag)) throw new NodeError("not_found", `template '${name}' has no tag '${tag}'`);
      }
      for (const tag of tags) await unlink(tagFile(name, tag));
      // The last tag gone, the template is gone: its name is free again.
      if ((await tagsOf(name)).length === 0) await rm(dirOf(name), { recursive: true, force: true });
    },
    async setPublic(name, value, owner) {
      if (name === "base") throw new NodeError("invalid_argument", "base is every team's already");
      await owned(name, owner);
      if (value) await writeFile(join(dirOf(name), "public"), "");
      else await rm(join(dirOf(name), "public"), { force: true });
    },
    async remove(templateId, owner) {
      checkName(templateId);
      if (templateId === "base") throw new NodeError("invalid_argument", "base cannot be deleted: cove up builds it and every template starts from it");
      const tags = await owned(templateId, owner);
      const dir = dirOf(templateId);
      // A template built in steps holds only its manifests; one with its own rootfs (an older
      // recipe) keeps it until no sandbox runs from it: move it aside instead of deleting under them.
      const manifest = tags[0]?.manifest;
      if (manifest && isAbsolute(manifest.rootfs)) await rm(dir, { recursive: true, force: true });
      else if (manifest?.rootfs.startsWith("builds/")) {
        // Its builds stay where sandboxes' records name them; the node collects them once unused.
        await rm(join(dir, "tags"), { recursive: true, force: true });
        await rm(join(dir, "public"), { force: true });
        await rm(join(dir, "rootfs"), { force: true });
        await unlink(join(dir, "template.json"));
      } else await rename(dir, join(templatesDir, `.deleted-${templateId}-${Date.now()}`));
    },
    async list() {
      return (await store.entries()).flatMap((e) => e.tags.map((t) => t.manifest));
    },
    async entries() {
      const names = await readdir(templatesDir).then(
        (all) => all.filter((n) => TEMPLATE_NAME.test(n)).sort(),
        () => [] as string[],
      );
      const out: TemplateEntry[] = [];
      for (const name of names) {
        const tags = await tagsOf(name);
        const owner = tags[0]?.manifest.owner;
        if (tags.length > 0) out.push({ name, ...(owner ? { owner } : {}), public: await isPublic(name), tags });
      }
      return out;
    },
  };
  return store;
}
