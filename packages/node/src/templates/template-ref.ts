import { DEFAULT_TAG, parseTemplateRef as parse, TEMPLATE_NAME, TEMPLATE_TAG, type TemplateRef } from "@cove/protocol/template-ref";
import { NodeError } from "../errors.js";

export { DEFAULT_TAG, TEMPLATE_NAME, TEMPLATE_TAG };

/** The tags a build gets: those asked for, once each; none asked: `default`, what the bare name means. */
export function buildTags(asked: readonly string[] | undefined): string[] {
  return asked?.length ? [...new Set(asked)] : [DEFAULT_TAG];
}

/** `name[:tag]` as the node takes it: an invalid one is the caller's error. */
export function parseTemplateRef(ref: string): TemplateRef {
  const parsed = parse(ref);
  if (!parsed) throw new NodeError("invalid_argument", `invalid template '${ref}': a name (lowercase letters, digits, '.', '_', '-') and an optional ':tag'`);
  return parsed;
}
