import { BuilderError } from "../errors.js";

/** An image reference split the way Docker splits it, with Docker's defaults filled in. */
export interface ImageReference {
  /** Registry host, with `:port` if one was given; `docker.io` for Docker Hub. */
  registry: string;
  /** Repository path inside the registry; Docker Hub's official images get `library/`. */
  repository: string;
  /** `latest` when neither a tag nor a digest was given. */
  tag?: string;
  /** `sha256:<hex>`; when present it wins over the tag (the tag is only informative). */
  digest?: string;
}

const component = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const digestPattern = /^sha256:[a-f0-9]{64}$/;
const hostPattern = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

function invalid(text: string, why: string): BuilderError {
  return new BuilderError("invalid_image_reference", `invalid image reference "${text}": ${why}`);
}

/**
 * Parses `python:3.12`, `ghcr.io/org/app@sha256:…`, `localhost:5000/x:y` and the like. The first
 * path component is a registry only if it has a dot or a port or is `localhost`, as in Docker,
 * so `myuser/app` stays on Docker Hub.
 */
export function parseImageReference(text: string): ImageReference {
  if (text.length === 0) throw invalid(text, "empty");
  if (text !== text.trim()) throw invalid(text, "surrounding whitespace");
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestPattern.test(digest)) throw invalid(text, "a digest must be sha256: and 64 lowercase hex digits");
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagPattern.test(tag)) throw invalid(text, `bad tag "${tag}"`);
  }
  const slash = rest.indexOf("/");
  const first = slash >= 0 ? rest.slice(0, slash) : "";
  let registry: string;
  let repository: string;
  if (slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost" || first.startsWith("["))) {
    if (!hostPattern.test(first)) throw invalid(text, `bad registry host "${first}"`);
    registry = first === "index.docker.io" ? "docker.io" : first;
    repository = rest.slice(slash + 1);
  } else {
    registry = "docker.io";
    repository = rest;
  }
  if (repository.length === 0) throw invalid(text, "no repository name");
  for (const part of repository.split("/")) {
    if (!component.test(part)) throw invalid(text, `bad name component "${part}" (lowercase letters, digits and . _ - only)`);
  }
  if (registry === "docker.io" && !repository.includes("/")) repository = `library/${repository}`;
  if (registry.length + repository.length + 1 > 255) throw invalid(text, "name longer than 255 characters");
  if (tag === undefined && digest === undefined) tag = "latest";
  return { registry, repository, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

/** The canonical form: `docker.io/library/python:3.12`, `host/repo@sha256:…`. */
export function formatImageReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest !== undefined ? `@${ref.digest}` : ""}`;
}
