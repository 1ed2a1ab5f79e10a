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
  | "io_failed"
  /** A step's command exited non-zero, or a COPY's files could not be placed (the error names the step). */
  | "step_failed"
  /** The template's start command did not start, or its ready command never passed. */
  | "start_failed"
  /** The build was canceled (its template deleted, the server stopping). */
  | "canceled";

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

/** Where a build failed, as E2B's build status reports it: `base`, `finalize` or a 1-based step number. */
export type BuildFailureStep = "base" | "finalize" | `${number}`;

/** A build that failed at a step; `tail` holds the last lines the step printed. */
export class BuildStepError extends BuilderError {
  constructor(
    code: BuilderErrorCode,
    readonly step: BuildFailureStep,
    message: string,
    readonly tail: string[] = [],
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
