import type { Kysely } from 'kysely';
import type { StreamKind } from '../../contracts/streams.ts';
import type { Commit } from '../../eventstore/index.ts';
import type { Database } from './database.ts';
import { noGroupChatRows, projectGroupChat } from './group-chats/group-chats.projection.ts';
import { loadGroupChatRows, saveGroupChatRows } from './group-chats/group-chats.store.ts';
import { projectMessage } from './messages/messages.projection.ts';
import { loadMessageRows, saveMessageRows } from './messages/messages.store.ts';
import type { RowChange } from './row-changes.ts';

/**
 * What the projector needs of a read model: its rows for no commit yet, its projection (the pure
 * fold), and how the rows of many streams are read and written in a few statements. The live
 * projector loads, folds and saves inside one transaction; the rebuild folds from `empty` and
 * saves once.
 */
export interface ReadModel<Rows> {
  readonly empty: Rows;
  readonly project: (rows: Rows, id: string, commit: Commit) => Rows;
  readonly load: (db: Kysely<Database>, ids: readonly string[]) => Promise<ReadonlyMap<string, Rows>>;
  readonly save: (db: Kysely<Database>, changes: readonly RowChange<Rows>[]) => Promise<void>;
}

/** Checked against its own row type here; the projector only passes a model's rows back to it. */
const erased = <Rows>(model: ReadModel<Rows>): ReadModel<unknown> => model as unknown as ReadModel<unknown>;

/** The read model each kind of stream projects to. */
export const readModels: Readonly<Record<StreamKind, ReadModel<unknown>>> = {
  GroupChat: erased({ empty: noGroupChatRows, project: projectGroupChat, load: loadGroupChatRows, save: saveGroupChatRows }),
  Message: erased({ empty: undefined, project: projectMessage, load: loadMessageRows, save: saveMessageRows }),
};

export const streamKinds: readonly StreamKind[] = ['GroupChat', 'Message'];
