export * from './evaluate';
export * from './gate';
export * from './quiet-hours';
export * from './reasons';
export * from './timezone';
