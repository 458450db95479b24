export { TaskService } from './task-service.ts';
export { selftestTask, selftestParamsSchema, type SelftestParams } from './selftest-task.ts';
export * from './task-types.ts';
