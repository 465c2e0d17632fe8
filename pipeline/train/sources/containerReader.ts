/** The container reader lives in schemas/container.ts (one reader for every caller); re-exported here for the training sources. */
export { containerRecords, readContainer, type ContainerHeader, type ContainerItem } from '../../../schemas/container.js';
