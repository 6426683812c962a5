import t from 'tap';
import type { GroupChatEvent } from '../../../contracts/events.ts';
import { deciderSpec } from '../../../testing/decider-spec.ts';
import { decideGroupChat } from './group-chat.decider.ts';
import { adminCount, evolveGroupChat, initialGroupChatState } from './group-chat.state.ts';

const spec = deciderSpec({ initialState: initialGroupChatState, evolve: evolveGroupChat, decide: decideGroupChat });

const created: GroupChatEvent[] = [
  { type: 'GroupChatCreated', data: { name: 'Team', ownerId: 'alice' } },
  { type: 'MemberAdded', data: { userId: 'alice', role: 'admin' } },
];
const withBob: GroupChatEvent[] = [...created, { type: 'MemberAdded', data: { userId: 'bob', role: 'member' } }];
const deleted: GroupChatEvent[] = [...withBob, { type: 'GroupChatDeleted', data: {} }];

t.test('no chat yet', async (t) => {
  const { given } = spec(t);
  t.test('create: the creator becomes owner and admin, the name is trimmed', async (t) => {
    spec(t).given([]).when({ type: 'CreateGroupChat', actorId: 'alice', name: '  Team  ' }).then(created);
  });
  t.test('create with an empty or blank name is invalid', async (t) => {
    spec(t).given([]).when({ type: 'CreateGroupChat', actorId: 'alice', name: '   ' }).thenError('invalid', /empty/);
  });
  t.test('create with a name over 64 characters is invalid', async (t) => {
    spec(t).given([]).when({ type: 'CreateGroupChat', actorId: 'alice', name: 'x'.repeat(65) }).thenError('invalid', /64/);
  });
  t.test('a name of exactly 64 characters is fine', async (t) => {
    const name = 'x'.repeat(64);
    spec(t)
      .given([])
      .when({ type: 'CreateGroupChat', actorId: 'alice', name })
      .then([
        { type: 'GroupChatCreated', data: { name, ownerId: 'alice' } },
        { type: 'MemberAdded', data: { userId: 'alice', role: 'admin' } },
      ]);
  });
  t.test('create with control characters in the name is invalid', async (t) => {
    spec(t).given([]).when({ type: 'CreateGroupChat', actorId: 'alice', name: 'a\u0007b' }).thenError('invalid', /control/);
    spec(t).given([]).when({ type: 'CreateGroupChat', actorId: 'alice', name: 'a\nb' }).thenError('invalid', /control/);
  });
  t.test('every other command is 404', async () => {
    given([]).when({ type: 'RenameGroupChat', actorId: 'alice', name: 'x' }).thenError('not-found');
    given([]).when({ type: 'AddMember', actorId: 'alice', userId: 'bob', role: 'member' }).thenError('not-found');
    given([]).when({ type: 'ChangeMemberRole', actorId: 'alice', userId: 'bob', role: 'admin' }).thenError('not-found');
    given([]).when({ type: 'RemoveMember', actorId: 'alice', userId: 'alice' }).thenError('not-found');
    given([]).when({ type: 'DeleteGroupChat', actorId: 'alice' }).thenError('not-found');
  });
});

t.test('an existing chat', async (t) => {
  const { given } = spec(t);
  t.test('cannot be created again', async (t) => {
    spec(t).given(created).when({ type: 'CreateGroupChat', actorId: 'alice', name: 'Again' }).thenError('conflict');
  });
  t.test('a non-member gets 404 for every command, never 403', async () => {
    given(withBob).when({ type: 'RenameGroupChat', actorId: 'eve', name: 'x' }).thenError('not-found');
    given(withBob).when({ type: 'AddMember', actorId: 'eve', userId: 'eve', role: 'admin' }).thenError('not-found');
    given(withBob).when({ type: 'ChangeMemberRole', actorId: 'eve', userId: 'bob', role: 'admin' }).thenError('not-found');
    given(withBob).when({ type: 'RemoveMember', actorId: 'eve', userId: 'bob' }).thenError('not-found');
    given(withBob).when({ type: 'DeleteGroupChat', actorId: 'eve' }).thenError('not-found');
  });

  t.test('rename', async (t) => {
    t.test('by an admin', async (t) => {
      spec(t).given(withBob).when({ type: 'RenameGroupChat', actorId: 'alice', name: ' Crew ' }).then([
        { type: 'GroupChatRenamed', data: { name: 'Crew' } },
      ]);
    });
    t.test('to the same name is a conflict', async (t) => {
      spec(t).given(withBob).when({ type: 'RenameGroupChat', actorId: 'alice', name: 'Team ' }).thenError('conflict');
    });
    t.test('to an invalid name', async (t) => {
      spec(t).given(withBob).when({ type: 'RenameGroupChat', actorId: 'alice', name: '' }).thenError('invalid');
    });
    t.test('by a plain member is forbidden', async (t) => {
      spec(t).given(withBob).when({ type: 'RenameGroupChat', actorId: 'bob', name: 'Mine' }).thenError('forbidden');
    });
  });

  t.test('add member', async (t) => {
    t.test('by an admin', async (t) => {
      spec(t).given(withBob).when({ type: 'AddMember', actorId: 'alice', userId: 'carol', role: 'admin' }).then([
        { type: 'MemberAdded', data: { userId: 'carol', role: 'admin' } },
      ]);
    });
    t.test('who is already a member is a conflict', async (t) => {
      spec(t).given(withBob).when({ type: 'AddMember', actorId: 'alice', userId: 'bob', role: 'admin' }).thenError('conflict');
    });
    t.test('by a plain member is forbidden', async (t) => {
      spec(t).given(withBob).when({ type: 'AddMember', actorId: 'bob', userId: 'carol', role: 'member' }).thenError('forbidden');
    });
    t.test('with a malformed user id or role is invalid', async (t) => {
      spec(t).given(withBob).when({ type: 'AddMember', actorId: 'alice', userId: 'no spaces', role: 'member' }).thenError('invalid');
      spec(t)
        .given(withBob)
        .when({ type: 'AddMember', actorId: 'alice', userId: 'carol', role: 'owner' as never })
        .thenError('invalid');
    });
    t.test('the 100th member is fine, the 101st a conflict', async (t) => {
      const ninetyNine: GroupChatEvent[] = [...created];
      for (let n = 1; n < 99; n++) ninetyNine.push({ type: 'MemberAdded', data: { userId: `user${n}`, role: 'member' } });
      spec(t).given(ninetyNine).when({ type: 'AddMember', actorId: 'alice', userId: 'last', role: 'member' }).then([
        { type: 'MemberAdded', data: { userId: 'last', role: 'member' } },
      ]);
      const hundred = [...ninetyNine, { type: 'MemberAdded', data: { userId: 'last', role: 'member' } } as const];
      spec(t).given(hundred).when({ type: 'AddMember', actorId: 'alice', userId: 'one-more', role: 'member' }).thenError('conflict', /100/);
    });
    t.test('after a removal there is room again', async (t) => {
      const hundred: GroupChatEvent[] = [...created];
      for (let n = 1; n < 100; n++) hundred.push({ type: 'MemberAdded', data: { userId: `user${n}`, role: 'member' } });
      hundred.push({ type: 'MemberRemoved', data: { userId: 'user7' } });
      spec(t).given(hundred).when({ type: 'AddMember', actorId: 'alice', userId: 'newbie', role: 'member' }).then([
        { type: 'MemberAdded', data: { userId: 'newbie', role: 'member' } },
      ]);
    });
  });

  t.test('change role', async (t) => {
    t.test('promote a member', async (t) => {
      spec(t).given(withBob).when({ type: 'ChangeMemberRole', actorId: 'alice', userId: 'bob', role: 'admin' }).then([
        { type: 'MemberRoleChanged', data: { userId: 'bob', role: 'admin' } },
      ]);
    });
    t.test('demote an admin while another admin remains', async (t) => {
      const twoAdmins: GroupChatEvent[] = [...withBob, { type: 'MemberRoleChanged', data: { userId: 'bob', role: 'admin' } }];
      spec(t).given(twoAdmins).when({ type: 'ChangeMemberRole', actorId: 'bob', userId: 'alice', role: 'member' }).then([
        { type: 'MemberRoleChanged', data: { userId: 'alice', role: 'member' } },
      ]);
    });
    t.test('demoting the last admin is a conflict', async (t) => {
      spec(t).given(withBob).when({ type: 'ChangeMemberRole', actorId: 'alice', userId: 'alice', role: 'member' }).thenError('conflict', /last admin/);
    });
    t.test('to the role held already is a conflict', async (t) => {
      spec(t).given(withBob).when({ type: 'ChangeMemberRole', actorId: 'alice', userId: 'bob', role: 'member' }).thenError('conflict');
    });
    t.test('of a non-member is 404', async (t) => {
      spec(t).given(withBob).when({ type: 'ChangeMemberRole', actorId: 'alice', userId: 'zed', role: 'admin' }).thenError('not-found');
    });
    t.test('by a plain member is forbidden', async (t) => {
      spec(t).given(withBob).when({ type: 'ChangeMemberRole', actorId: 'bob', userId: 'bob', role: 'admin' }).thenError('forbidden');
    });
    t.test('to an unknown role is invalid', async (t) => {
      spec(t).given(withBob).when({ type: 'ChangeMemberRole', actorId: 'alice', userId: 'bob', role: 'root' as never }).thenError('invalid');
    });
  });

  t.test('remove member', async (t) => {
    t.test('by an admin', async (t) => {
      spec(t).given(withBob).when({ type: 'RemoveMember', actorId: 'alice', userId: 'bob' }).then([
        { type: 'MemberRemoved', data: { userId: 'bob' } },
      ]);
    });
    t.test('a member removing itself', async (t) => {
      spec(t).given(withBob).when({ type: 'RemoveMember', actorId: 'bob', userId: 'bob' }).then([
        { type: 'MemberRemoved', data: { userId: 'bob' } },
      ]);
    });
    t.test('a plain member removing someone else is forbidden', async (t) => {
      spec(t).given(withBob).when({ type: 'RemoveMember', actorId: 'bob', userId: 'alice' }).thenError('forbidden');
    });
    t.test('a non-member target is 404', async (t) => {
      spec(t).given(withBob).when({ type: 'RemoveMember', actorId: 'alice', userId: 'zed' }).thenError('not-found');
    });
    t.test('removing the last admin is a conflict, even by itself', async (t) => {
      spec(t).given(withBob).when({ type: 'RemoveMember', actorId: 'alice', userId: 'alice' }).thenError('conflict', /last admin/);
    });
    t.test('a removed member is no longer a member', async (t) => {
      const bobGone: GroupChatEvent[] = [...withBob, { type: 'MemberRemoved', data: { userId: 'bob' } }];
      spec(t).given(bobGone).when({ type: 'RemoveMember', actorId: 'bob', userId: 'bob' }).thenError('not-found');
    });
  });

  t.test('delete', async (t) => {
    t.test('by an admin', async (t) => {
      spec(t).given(withBob).when({ type: 'DeleteGroupChat', actorId: 'alice' }).then([{ type: 'GroupChatDeleted', data: {} }]);
    });
    t.test('by a plain member is forbidden', async (t) => {
      spec(t).given(withBob).when({ type: 'DeleteGroupChat', actorId: 'bob' }).thenError('forbidden');
    });
  });
});

t.test('a deleted chat', async (t) => {
  const { given } = spec(t);
  t.test('answers every command of a member with gone', async () => {
    given(deleted).when({ type: 'RenameGroupChat', actorId: 'alice', name: 'x' }).thenError('gone');
    given(deleted).when({ type: 'AddMember', actorId: 'alice', userId: 'carol', role: 'member' }).thenError('gone');
    given(deleted).when({ type: 'ChangeMemberRole', actorId: 'alice', userId: 'bob', role: 'admin' }).thenError('gone');
    given(deleted).when({ type: 'RemoveMember', actorId: 'bob', userId: 'bob' }).thenError('gone');
    given(deleted).when({ type: 'DeleteGroupChat', actorId: 'alice' }).thenError('gone');
  });
  t.test('still hides itself from non-members', async () => {
    given(deleted).when({ type: 'RenameGroupChat', actorId: 'eve', name: 'x' }).thenError('not-found');
  });
  t.test('cannot be created again', async () => {
    given(deleted).when({ type: 'CreateGroupChat', actorId: 'alice', name: 'x' }).thenError('conflict');
  });
});

t.test('an event this version does not know leaves the state as it was', async (t) => {
  const state = created.reduce(evolveGroupChat, initialGroupChatState);
  t.equal(evolveGroupChat(state, { type: 'SomethingNew', data: {} } as never), state);
});

t.test('user ids named after built-in object properties are ordinary users', async (t) => {
  const hostile = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__'];
  for (const userId of hostile) {
    t.test(`${userId} is not a member of a chat it was not added to`, async (t) => {
      spec(t).given(withBob).when({ type: 'RenameGroupChat', actorId: userId, name: 'mine now' }).thenError('not-found');
      spec(t).given(withBob).when({ type: 'RemoveMember', actorId: userId, userId: 'bob' }).thenError('not-found');
      spec(t).given(withBob).when({ type: 'ChangeMemberRole', actorId: 'alice', userId, role: 'admin' }).thenError('not-found', /is not a member/);
      spec(t).given(withBob).when({ type: 'RemoveMember', actorId: 'alice', userId }).thenError('not-found', /is not a member/);
    });
    t.test(`${userId} can be added, promoted, act as admin and be removed`, async (t) => {
      const added: GroupChatEvent = { type: 'MemberAdded', data: { userId, role: 'member' } };
      spec(t).given(withBob).when({ type: 'AddMember', actorId: 'alice', userId, role: 'member' }).then([added]);
      spec(t).given([...withBob, added]).when({ type: 'AddMember', actorId: 'alice', userId, role: 'member' }).thenError('conflict', /already a member/);
      spec(t).given([...withBob, added]).when({ type: 'RenameGroupChat', actorId: userId, name: 'x' }).thenError('forbidden');
      const promoted: GroupChatEvent = { type: 'MemberRoleChanged', data: { userId, role: 'admin' } };
      spec(t).given([...withBob, added, promoted]).when({ type: 'DeleteGroupChat', actorId: userId }).then([{ type: 'GroupChatDeleted', data: {} }]);
      const removed: GroupChatEvent = { type: 'MemberRemoved', data: { userId } };
      spec(t).given([...withBob, added, promoted, removed]).when({ type: 'DeleteGroupChat', actorId: userId }).thenError('not-found');
    });
  }
  t.test('a changed role on a non-member never makes a hidden admin', async (t) => {
    // What an admin's PUT .../members/valueOf used to do: no member, so nothing may change.
    spec(t).given(withBob).when({ type: 'ChangeMemberRole', actorId: 'alice', userId: 'valueOf', role: 'admin' }).thenError('not-found');
    spec(t).given(withBob).when({ type: 'DeleteGroupChat', actorId: 'valueOf' }).thenError('not-found');
  });
  t.test('counting admins ignores inherited properties', async (t) => {
    const state = [...created, { type: 'MemberAdded', data: { userId: 'constructor', role: 'admin' } } as GroupChatEvent].reduce(
      evolveGroupChat,
      initialGroupChatState,
    );
    t.equal(state.status === 'absent' ? 0 : adminCount(state.members), 2);
  });
});
