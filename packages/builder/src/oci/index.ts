export { formatImageReference, type ImageReference, parseImageReference } from "./reference.js";
export { type AuthChallenge, type BasicCredentials, type FetchLike, parseWwwAuthenticate } from "./registry-auth.js";
export {
  createRegistryClient,
  type OciLogger,
  type RegistryClient,
  type RegistryClientOptions,
  type RegistryMirrors,
  registryEndpoints,
} from "./registry-client.js";
export { formatPlatform, hostPlatform, type ImageConfig, type Platform } from "./manifest.js";
export { type UnpackLayerOptions, unpackLayer } from "./unpack.js";
