// Public surface of the v1alpha1 API package.
export * from './group.js';
export * from './spec.js';
export * from './status.js';
export * from './conditions.js';
export * from './rules.js';
export * from './relay.js';
