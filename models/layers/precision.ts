/**
 * The precisions the LSTM's products can run in at inference, in a module of
 * their own (no TensorFlow, no addon), so that what only names them (option
 * lists, benchmark drivers) need not load either. nativeLstm.ts's
 * useInferencePrecision says where each one runs.
 */

/** The precisions inference can run the LSTM's products in. */
export const INFERENCE_PRECISIONS = ['float32', 'bfloat16', 'int8'] as const;
/** float32 (the default), bfloat16 or int8: see nativeLstm.ts useInferencePrecision. */
export type InferencePrecision = (typeof INFERENCE_PRECISIONS)[number];
