export * from './compose-request.ts';
export * from './fields.ts';
export * from './koji.ts';
export * from './promotion.ts';
export * from './staging-request.ts';
export * from './tasks.ts';
