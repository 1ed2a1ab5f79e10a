export {
  parseSandboxTarget,
  isSandboxRequest,
  isTargetError,
  SANDBOX_ID_HEADER,
  SANDBOX_PORT_HEADER,
  type SandboxTarget,
  type TargetError,
  type TargetErrorCode,
  type TargetInput,
} from "./target.js";
export { ENVD_INTERNAL_PATHS, isInternalEnvdPath } from "./internal-routes.js";
export { createProxy, TRAFFIC_TOKEN_HEADER, type Proxy, type ProxyOptions, type Route, type RouteResolver } from "./proxy.js";
export { addressInUse, createGateway, GatewayError, type Gateway, type GatewayApi, type GatewayErrorCode, type GatewayOptions } from "./gateway.js";
export { silentLogger, type Logger } from "./logger.js";
