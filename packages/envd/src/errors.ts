import { Code, ConnectError } from "@connectrpc/connect";

/**
 * The closed set of envd error codes. Every code maps to a Connect code (for RPC)
 * and an HTTP status (for the plain HTTP routes); a new code without both
 * mappings does not compile.
 */
export type EnvdErrorCode =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "unauthenticated"
  | "permission_denied"
  | "failed_precondition"
  | "resource_exhausted"
  | "not_enough_space"
  | "unsupported_encoding"
  | "metadata_unsupported"
  | "deadline_exceeded"
  | "unimplemented"
  | "internal";

const connectCodes: Record<EnvdErrorCode, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  failed_precondition: Code.FailedPrecondition,
  resource_exhausted: Code.ResourceExhausted,
  not_enough_space: Code.ResourceExhausted,
  unsupported_encoding: Code.InvalidArgument,
  metadata_unsupported: Code.FailedPrecondition,
  deadline_exceeded: Code.DeadlineExceeded,
  unimplemented: Code.Unimplemented,
  internal: Code.Internal,
};

const httpStatuses: Record<EnvdErrorCode, number> = {
  invalid_argument: 400,
  not_found: 404,
  already_exists: 409,
  unauthenticated: 401,
  permission_denied: 403,
  failed_precondition: 400,
  resource_exhausted: 429,
  not_enough_space: 507,
  unsupported_encoding: 406,
  metadata_unsupported: 400,
  deadline_exceeded: 504,
  unimplemented: 501,
  internal: 500,
};

/** An error whose message is safe to show to the caller. */
export class EnvdError extends Error {
  override readonly name = "EnvdError";
  constructor(
    readonly code: EnvdErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get httpStatus(): number {
    return httpStatuses[this.code];
  }

  toConnectError(): ConnectError {
    return new ConnectError(this.message, connectCodes[this.code], undefined, undefined, this);
  }
}

/** Maps a Node.js system error (errno code) on `path` to an EnvdError. */
export function fromErrno(err: unknown, path: string): EnvdError {
  if (err instanceof EnvdError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case "ENOENT":
      return new EnvdError("not_found", `path '${path}' does not exist`, { cause: err });
    case "EEXIST":
      return new EnvdError("already_exists", `path '${path}' already exists`, { cause: err });
    case "ENOTDIR":
      return new EnvdError("invalid_argument", `path '${path}' is not a directory`, { cause: err });
    case "EISDIR":
      return new EnvdError("invalid_argument", `path '${path}' is a directory`, { cause: err });
    case "ENOTEMPTY":
      return new EnvdError("failed_precondition", `directory '${path}' is not empty`, { cause: err });
    case "EACCES":
    case "EPERM":
      return new EnvdError("permission_denied", `permission denied for '${path}'`, { cause: err });
    case "ENOSPC":
    case "EDQUOT":
      return new EnvdError("not_enough_space", `not enough disk space to write '${path}'`, { cause: err });
    case "ENAMETOOLONG":
      return new EnvdError("invalid_argument", `path '${path}' is too long`, { cause: err });
    case "ELOOP":
      return new EnvdError("invalid_argument", `too many symlinks in '${path}'`, { cause: err });
    case "EXDEV":
      return new EnvdError("invalid_argument", `cannot move '${path}' across filesystems`, { cause: err });
    default:
      return new EnvdError("internal", `operation on '${path}' failed`, { cause: err });
  }
}

/** Converts anything thrown by a handler into a ConnectError with a safe message. */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof EnvdError) return err.toConnectError();
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}
