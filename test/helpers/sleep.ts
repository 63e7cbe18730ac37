/** Resolves after `ms` milliseconds: the pause between two looks of a test that polls. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
