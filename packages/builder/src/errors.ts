/** The closed set of builder error codes. Each is stable: the api maps them to HTTP statuses and build failure reasons. */
export type BuilderErrorCode =
  /** A Dockerfile line Cove cannot parse (the message names the line). */
  | "dockerfile_syntax"
  /** A Dockerfile instruction or flag Cove does not support for sandboxes (the message names the line). */
  | "dockerfile_unsupported"
  /** A build spec that is malformed (unknown step type, wrong argument count). */
  | "invalid_spec"
  /** An image reference that does not parse. */
  | "invalid_image_reference"
  /** The registry could not be reached (DNS, connect, TLS, timeout). */
  | "registry_unreachable"
  /** The registry refused the credentials, or asked for credentials that were not given. */
  | "registry_unauthorized"
  /** The registry is rate limiting us (HTTP 429); a retry later or a mirror helps. */
  | "registry_rate_limited"
  /** The image, tag or digest does not exist in the registry. */
  | "image_not_found"
  /** The image has no variant for this host's platform. */
  | "platform_not_found"
  /** A manifest or layer that is malformed, of an unknown media type, or whose digest does not match. */
  | "invalid_image"
  /** Files on this machine that the build needs are missing or unreadable. */
  | "io_failed";

/** An error whose message is safe to show to whoever asked for the build. */
export class BuilderError extends Error {
  override readonly name = "BuilderError";
  constructor(
    readonly code: BuilderErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
