import { DEFAULT_TAG, parseTemplateRef as parse, TEMPLATE_NAME, TEMPLATE_TAG, type TemplateRef } from "@cove/protocol/template-ref";
import { NodeError } from "../errors.js";

export { DEFAULT_TAG, TEMPLATE_NAME, TEMPLATE_TAG };

/** E2B's code-interpreter template, and the alias its SDK also accepts. */
export const CODE_INTERPRETER_TEMPLATE = "code-interpreter-v1";
export const CODE_INTERPRETER_ALIAS = "code-interpreter";
/** Names the SDKs use for Cove's built-in templates. */
export const TEMPLATE_ALIASES: Readonly<Record<string, string>> = { [CODE_INTERPRETER_ALIAS]: CODE_INTERPRETER_TEMPLATE };
/** Templates Cove builds itself (`cove template build <name>`, aliases included), whose names builds may not take. */
export const BUILT_IN_TEMPLATES: readonly string[] = ["base", CODE_INTERPRETER_ALIAS, CODE_INTERPRETER_TEMPLATE];

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
