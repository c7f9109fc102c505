export * from './content-items.js';
export * from './codes.js';
export * from './templates.js';
export * from './document.js';
