import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { FastifyInstance } from "fastify";
import type { NodeClient } from "@cove/protocol/nodeapi-client";
import { invalid, notFound } from "../errors.js";
import { fromNodeError } from "../sandboxes/node-errors.js";
import { requireTeam } from "./auth.js";
import { body, optBool, optString } from "./input.js";
import { tagList, templateName, templateRef, usableBy } from "./template-routes.js";

/** E2B's tag and visibility calls (spec 3.2 rows 20–22, the CLI's PATCH): the node keeps the tags. */
export function registerTemplateTagRoutes(app: FastifyInstance, node: NodeClient): void {
  const call = <T>(p: Promise<T>) =>
    p.catch((err: unknown) => {
      throw fromNodeError(err);
    });

  app.post("/templates/tags", async (req, reply) => {
    const team = requireTeam(req);
    const b = body(req.body);
    const target = optString(b, "target") ?? "";
    if (!target.includes(":")) throw invalid("target must be 'name:tag' (the build the tags go to)");
    templateRef(target);
    const tags = tagList(b.tags, "tags");
    if (tags.length === 0) throw invalid("tags must name at least one tag");
    const res = await call(node.assignTemplateTags({ target, tags, owner: team.id }));
    return reply.code(201).send({ buildID: res.buildId, tags: res.tags });
  });

  app.delete("/templates/tags", async (req, reply) => {
    const team = requireTeam(req);
    const b = body(req.body);
    const name = templateName(optString(b, "name") ?? "");
    const tags = tagList(b.tags, "tags");
    if (tags.length === 0) throw invalid("tags must name at least one tag");
    await call(node.removeTemplateTags({ templateId: name, tags, owner: team.id }));
    return reply.code(204).send();
  });

  app.get<{ Params: { templateID: string } }>("/templates/:templateID/tags", async (req) => {
    const team = requireTeam(req);
    const name = templateName(req.params.templateID);
    const { templates } = await call(node.listTemplates({}));
    const t = templates.filter(usableBy(team.id)).find((x) => x.templateId === name);
    if (!t) throw notFound("template", name);
    return t.tags.map((x) => ({
      tag: x.tag,
      buildID: x.buildId,
      createdAt: (x.createdAt ? timestampDate(x.createdAt) : new Date(0)).toISOString(),
    }));
  });

  // The CLI's `e2b template publish` / `unpublish`.
  app.patch<{ Params: { templateID: string } }>("/v2/templates/:templateID", async (req) => {
    const team = requireTeam(req);
    const name = templateName(req.params.templateID);
    const isPublic = optBool(body(req.body), "public");
    if (isPublic === undefined) throw invalid("give public: true or false");
    await call(node.setTemplatePublic({ templateId: name, public: isPublic, owner: team.id }));
    return { names: [name] };
  });
}
