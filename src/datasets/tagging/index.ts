export { MAX_TAG_NAME_CHARS, MAX_TAG_ROWS, MAX_TAGS_CSV_BYTES, parseSelectedTags, readSelectedTags, type TagCategory, type TagLabel } from './selected-tags.ts';
export { preprocessImage, type PreprocessParams } from './preprocess.ts';
export {
  DEFAULT_CHARACTER_THRESHOLD,
  DEFAULT_GENERAL_THRESHOLD,
  KAOMOJI,
  formatTagName,
  mcutThreshold,
  selectTags,
  tagOptionsSchema,
  type TagOptions,
  type TagOptionsInput,
} from './postprocess.ts';
export { MERGE_MODES, hasCaption, mergeCaption, type MergeMode } from './merge-caption.ts';
export { DEFAULT_THREADS, MODEL_FILE, TAGS_FILE, loadTagger, type Tagger } from './load-tagger.ts';
export {
  tagImages,
  taggingOptionsSchema,
  type FailedImage,
  type TagImagesParams,
  type TagImagesResult,
  type TaggedImage,
  type TaggingOptions,
  type TaggingOptionsInput,
  type TagProgress,
} from './tagger.ts';
export { tagDataset, tagDatasetParamsSchema, tagDatasetTask, type TagDatasetParams, type TagDatasetResult } from './tag-dataset-task.ts';
