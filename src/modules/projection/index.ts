/**
 * The projections (ARCHITECTURE.md, the read side): the read models' tables and folds, the
 * projector that applies commits to them exactly once, the database they live in and its
 * migrations, the in-process delivery `npm start` uses, and the rebuild. It serves no route: the
 * query module reads these tables, and the projector module feeds them from the stream.
 *
 * @example
 * const database = await openDatabase({ url: process.env.DATABASE_URL });
 * await migrate(database.db, database.schema);
 * const projector = new Projector(database.db, eventStore);
 * await projector.apply(commit);
 */
export { openDatabase, tables } from './database.ts';
export type { Database, DatabaseSettings, ProjectionDatabase } from './database.ts';
export { prepareOnFirstUse } from './first-use.ts';
export type { GroupChatView, MemberView } from './group-chats/group-chats.projection.ts';
export type { MessageRow, MessageView } from './messages/messages.projection.ts';
export { migrate } from './migrations.ts';
export { ProjectionUnavailableError, UnknownEventTypeError, isUnavailable } from './projection-errors.ts';
export { Projector } from './projector.ts';
export type { CatchUpProgress, PositionListener } from './projector.ts';
export type { EventLog } from './log-streams.ts';
export { ProjectionFeed } from './projection-feed.ts';
export { rebuildProjections } from './rebuild.ts';
export type { RebuildResult } from './rebuild.ts';
export { newRow, shownColumns, shownFields, viewOf } from './table-columns.ts';
export type { ColumnKind, ViewOf } from './table-columns.ts';
