/** Thresholds of the planner. Tests shrink them to drive every plan on a small dataset. */
export interface PlannerTuning {
  /** Posting lists up to this long are counted exactly when estimating. */
  readonly estimateCap: number;
  /** More merged streams than this are not worth it; the driver is read whole instead. */
  readonly maxStreamArms: number;
  /** A driver this small is read whole once: its matches give both the count and the page. */
  readonly materializeMax: number;
  /**
   * A driver up to this size is also read once when the estimates say few of its rows match,
   * so that the page would read it whole again after the count.
   */
  readonly materializeSparseMax: number;
  /** More name candidates than this and the name is no driver. */
  readonly nameCandidateCap: number;
}

export const DEFAULT_TUNING: PlannerTuning = Object.freeze({
  estimateCap: 1000,
  maxStreamArms: 100,
  materializeMax: 5000,
  materializeSparseMax: 50_000,
  nameCandidateCap: 5000,
});
