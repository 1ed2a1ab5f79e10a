/** Template names (E2B's `name` without a tag): what a template's directory on a node is called. */
export const TEMPLATE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** Tags as Docker writes them: a build of a template is reached as `name:tag`. */
export const TEMPLATE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** The tag `name` alone means, as with E2B. */
export const DEFAULT_TAG = "default";

export interface TemplateRef {
  name: string;
  tag: string;
}

/** Splits `name[:tag]`; undefined when either part is not valid. */
export function parseTemplateRef(ref: string): TemplateRef | undefined {
  const at = ref.indexOf(":");
  const name = at < 0 ? ref : ref.slice(0, at);
  const tag = at < 0 ? DEFAULT_TAG : ref.slice(at + 1);
  if (!TEMPLATE_NAME.test(name) || !TEMPLATE_TAG.test(tag)) return undefined;
  return { name, tag };
}
