/** A committed layer: the files one step changed, in overlayfs format (whiteouts as 0:0 devices). */
export interface Layer {
  /** Unique per commit: a forced rebuild under the same key gets a new id, so sandboxes on the old one keep it. */
  id: string;
  key: string;
  dir: string;
  /** Nothing changed (ENV, a RUN that wrote nothing): left out of the stack. */
  empty: boolean;
}

/** A directory a step writes its changes into before they become a layer. */
export interface StagedLayer {
  dir: string;
}

/** The builder's view of the layer cache (the node keeps it on its disk). */
export interface LayerStore {
  /** The layer last committed under `key`. */
  get(key: string): Promise<Layer | undefined>;
  stage(): Promise<StagedLayer>;
  /** Makes a staged dir the layer for `key`, atomically; an earlier layer of that key stays until collected. */
  commit(staged: StagedLayer, key: string): Promise<Layer>;
  discard(staged: StagedLayer): Promise<void>;
}
