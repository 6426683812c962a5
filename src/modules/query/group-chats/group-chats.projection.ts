import type { Transaction } from 'kysely';
import type { GroupChatEvent } from '../../../contracts/events.ts';
import type { Commit } from '../../../eventstore/index.ts';
import type { Database } from '../database.ts';

/** Applies one commit of a GroupChat stream to `group_chats` and `members`. */
export async function projectGroupChatCommit(trx: Transaction<Database>, groupChatId: string, commit: Commit): Promise<void> {
  const at = new Date(commit.occurredAt);
  for (const event of commit.events as readonly GroupChatEvent[]) {
    switch (event.type) {
      case 'GroupChatCreated':
        await trx
          .insertInto('group_chats')
          .values({
            group_chat_id: groupChatId,
            name: event.data.name,
            owner_id: event.data.ownerId,
            created_at: at,
            updated_at: at,
            version: commit.version,
            deleted: false,
          })
          .execute();
        break;
      case 'GroupChatRenamed':
        await trx.updateTable('group_chats').set({ name: event.data.name }).where('group_chat_id', '=', groupChatId).execute();
        break;
      case 'MemberAdded':
        await trx
          .insertInto('members')
          .values({ group_chat_id: groupChatId, user_id: event.data.userId, role: event.data.role, joined_at: at })
          .onConflict((c) => c.columns(['group_chat_id', 'user_id']).doUpdateSet({ role: event.data.role }))
          .execute();
        break;
      case 'MemberRoleChanged':
        await trx
          .updateTable('members')
          .set({ role: event.data.role })
          .where('group_chat_id', '=', groupChatId)
          .where('user_id', '=', event.data.userId)
          .execute();
        break;
      case 'MemberRemoved':
        await trx.deleteFrom('members').where('group_chat_id', '=', groupChatId).where('user_id', '=', event.data.userId).execute();
        break;
      case 'GroupChatDeleted':
        await trx.updateTable('group_chats').set({ deleted: true }).where('group_chat_id', '=', groupChatId).execute();
        break;
      default:
        // A newer event type: nothing in this read model depends on it yet.
        break;
    }
  }
  await trx
    .updateTable('group_chats')
    .set({ version: commit.version, updated_at: at })
    .where('group_chat_id', '=', groupChatId)
    .execute();
}
