export { type BlobCache, type BlobRef, createBlobCache } from "./blob-cache.js";
export { createLayerCache, type LayerCache } from "./layer-cache.js";
export { formatPlatform, hostPlatform, type ImageConfig, type Platform } from "./manifest.js";
export { createImageCache, type ImageCache, type PulledImage, type PulledLayer, type PullImageOptions, type PullProgress, pullImage } from "./pull.js";
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
export { type UnpackLayerOptions, unpackLayer } from "./unpack.js";
