import { randomUUID } from "node:crypto";
import { type BuildLogEntry, type BuildSpec, BuilderError, type DiskLayerStore, executeBuild, planBuild } from "@cove/builder";
import { NodeError } from "../errors.js";
import type { TemplateManifest } from "../templates/base-template.js";
import { BUILT_IN_TEMPLATES, buildTags, TEMPLATE_NAME, TEMPLATE_TAG } from "../templates/template-ref.js";
import { resolveBuildSource, type SourceDeps } from "./build-source.js";
import { CA_ENV, caLayer } from "./ca-layer.js";
import { profilePathLayer } from "./profile-layer.js";

export interface TemplateBuildRequest {
  /** The template's name on this node (its dir under templates/). */
  name: string;
  /** Who builds (a team id; absent for an operator's build): only they may replace their template. */
  owner?: string;
  /** The tags the build gets (default: `default`, the one the bare name means). */
  tags?: string[];
  /** The build's id (the api's); a new one when absent. */
  buildId?: string;
  spec: BuildSpec;
  cpuCount?: number;
  memoryMB?: number;
  diskMB?: number;
  onLog(entry: BuildLogEntry): void;
  signal?: AbortSignal;
}

export interface TemplateBuilderDeps extends SourceDeps {
  layers: DiskLayerStore;
  /** PEM certificates every build trusts and every built template keeps ("" = none). */
  extraCaCerts?: string;
}

export interface BuiltTemplate {
  manifest: TemplateManifest;
  cachedSteps: number;
  tags: string[];
}

/**
 * Builds a template on this node from another template or an image: resolves the source (an
 * image is pulled and provisioned), plans against the layer cache, runs the steps in build
 * sandboxes, then writes the template's manifest in one rename. Sandboxes started from the
 * previous build keep its layers (layers are never replaced in place).
 */
export async function buildTemplate(deps: TemplateBuilderDeps, req: TemplateBuildRequest): Promise<BuiltTemplate> {
  if (!TEMPLATE_NAME.test(req.name)) throw new NodeError("invalid_argument", `invalid template name '${req.name}'`);
  const tags = buildTags(req.tags);
  for (const t of tags) if (!TEMPLATE_TAG.test(t)) throw new NodeError("invalid_argument", `invalid tag '${t}'`);
  const signal = req.signal ?? new AbortController().signal;
  if (BUILT_IN_TEMPLATES.includes(req.name))
    throw new NodeError("invalid_argument", `${req.name} is built by cove (cove template build ${req.name}); give your template another name`);
  const existing = await deps.templates.ownerOf(req.name);
  if (existing !== undefined && (existing ?? undefined) !== req.owner) {
    throw new NodeError(
      "invalid_transition",
      `the template name '${req.name}' is taken${req.owner === undefined ? " by a team's template" : ""}; choose another`,
    );
  }
  try {
    const source = await resolveBuildSource(deps, req.spec.source, req.onLog, signal, req.owner);
    if (deps.extraCaCerts) {
      // The host's TLS-intercepting proxy (if any) must verify inside builds and sandboxes alike.
      const ca = await caLayer(deps.layers, source.key, source.lower, deps.extraCaCerts);
      source.lower.push(ca.dir);
      source.key = ca.key;
      source.initial = { ...source.initial, env: { ...CA_ENV, ...source.initial.env } };
    }
    // A template from a template keeps its start and ready commands unless it sets its own (as an
    // image's CMD carries over): one built FROM code-interpreter-v1 still runs its server.
    const own = req.spec.startCmd !== undefined || req.spec.readyCmd !== undefined;
    const startCmd = own ? req.spec.startCmd : source.manifest.startCmd;
    const readyCmd = own ? req.spec.readyCmd : source.manifest.readyCmd;
    const start = { ...(startCmd ? { startCmd } : {}), ...(readyCmd ? { readyCmd } : {}) };
    const startUser = own ? undefined : source.manifest.startUser;
    const keys = await deps.layers.keys();
    const plan = planBuild(req.spec, { sourceKey: source.key, initial: source.initial, isCached: (key) => keys.has(key) });
    const defaults = {
      ...source.manifest.defaults,
      ...(req.cpuCount ? { cpuCount: req.cpuCount } : {}),
      ...(req.memoryMB ? { memoryMB: req.memoryMB } : {}),
      ...(req.diskMB ? { diskMB: req.diskMB } : {}),
    };
    const out = await executeBuild({
      plan,
      sourceLayers: source.lower,
      store: deps.layers,
      runner: deps.runnerFor({ ...source.manifest, defaults }),
      log: req.onLog,
      ...start,
      signal,
    });
    const lower = [...out.lower];
    const path = plan.final.env.PATH;
    if (path !== undefined && path !== source.manifest.defaults.env.PATH) lower.push((await profilePathLayer(deps.layers, plan.finalKey, path)).dir);
    const [rootfs = "", ...layers] = lower;
    const manifest: TemplateManifest = {
      name: req.name,
      ...(req.owner ? { owner: req.owner } : {}),
      buildId: req.buildId ?? randomUUID(),
      recipe: 1,
      builtAt: new Date().toISOString(),
      rootfs,
      ...(layers.length > 0 ? { layers } : {}),
      ...start,
      ...(startUser ? { startUser } : {}),
      defaults: { ...defaults, user: plan.final.user, workdir: plan.final.workdir, env: plan.final.env },
    };
    await deps.templates.write(manifest, tags);
    req.onLog({
      level: "info",
      message: `built template ${req.name} (${tags.map((t) => `${req.name}:${t}`).join(", ")}): ${plan.steps.length} steps, ${out.cachedSteps} cached`,
    });
    return { manifest, cachedSteps: out.cachedSteps, tags };
  } catch (err) {
    if (err instanceof BuilderError) req.onLog({ level: "error", message: err.message });
    throw err;
  }
}
