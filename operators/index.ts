/**
 * The streaming stages, in pipeline order:
 *
 *   decodePosts -> batchItems (or batchAdaptive) -> tagBatch -> toMentions -> encodeOutputs
 *
 * and, over the mention records, windowTrends (windowed entity trends)
 *
 * plus taggerSlots (tagBatch's load, read by batchAdaptive), tapSafe for
 * observation (metrics) and the dead-letter helpers.
 */
export { decodePosts } from './decodePosts.js';
export type { DecodePostsOptions } from './decodePosts.js';
export { batchItems } from './batchItems.js';
export type { BatchItemsOptions } from './batchItems.js';
export { batchAdaptive } from './batchAdaptive.js';
export type { BatchAdaptiveOptions } from './batchAdaptive.js';
export type { BatchLimits } from './itemWeight.js';
export { taggerSlots } from './taggerSlots.js';
export type { SlotClaim, TaggerSlots, TaggerSlotsOptions } from './taggerSlots.js';
export { tagBatch } from './tagBatch.js';
export type { TagBatchOptions } from './tagBatch.js';
export { toMentions } from './toMentions.js';
export type { ToMentionsOptions } from './toMentions.js';
export { DEFAULT_MAX_RECORD_BYTES, encodeOutputs } from './encodeOutputs.js';
export type { EncodeOutputsOptions } from './encodeOutputs.js';
export { tapSafe } from './tapSafe.js';
export type { TapSafeOptions } from './tapSafe.js';
export { windowTrends, trendSettings } from './windowTrends.js';
export type { TrendEvent, WindowTrendsOptions } from './windowTrends.js';
export { TrendState, TREND_DEFAULTS, normaliseText, trendKey } from './trends/trendState.js';
export type { AddResult, TrendInput, TrendMention, TrendSettings, TrendSnapshot, WindowSnapshot } from './trends/trendState.js';
export { deadLetterMessage, deadLetterRecord, MAX_ERROR_MESSAGE_LENGTH } from './deadLetter.js';
export type { DeadLetterMessageOptions } from './deadLetter.js';
export type { FailedItem, Item, OkItem, OutputMessage, RawRecord, RecordRef, StageName, TaggedPost } from './types.js';
export { rekeyMentions, continuationRef } from './rekeyMentions.js';
export type { RekeyMentionsOptions } from './rekeyMentions.js';
export { mergeTrendPartials } from './mergeTrendPartials.js';
export type { MergeTrendPartialsOptions, PartialTrend } from './mergeTrendPartials.js';
export { PartialMerger, mergeWindow } from './trends/mergePartials.js';
export type { MergerSnapshot } from './trends/mergePartials.js';
export { entityMentions, trendInputOf } from './trends/rekey.js';
export type { KeyedEntityMention, RekeySource } from './trends/rekey.js';
