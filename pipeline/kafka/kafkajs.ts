/**
 * kafkajs, as mentionflow loads it: with the fix of kafkajsFix.ts and the
 * consumer group of consumerGroupPatch.ts (the generation in GROUP_JOIN, a hook before a rejoin) in place before kafkajs's producer
 * and consumer code is loaded (ES modules evaluate their imports in order).
 * Every value import of kafkajs in the project goes through this module
 * (test/architecture checks it); type imports may name 'kafkajs'.
 */
import './kafkajsFix.js';
import './consumerGroupPatch.js';
import kafkajs from 'kafkajs';

export default kafkajs;
