import t from 'tap';
import type { GroupChatEvent } from '../../../contracts/events.ts';
import { deciderSpec } from '../../../testing/decider-spec.ts';
import { adminCount, groupChatDecider } from './group-chat.decider.ts';

const spec = deciderSpec(groupChatDecider);

const created: GroupChatEvent[] = [
  { type: 'GroupChatCreated', data: { name: 'Team', ownerId: 'alice' } },
  { type: 'MemberAdded', data: { userId: 'alice', role: 'admin' } },
];
const withBob: GroupChatEvent[] = [...created, { type: 'MemberAdded', data: { userId: 'bob', role: 'member' } }];
/** One admin, two plain members: counting anyone but admins would let alice leave it adminless. */
const withBobAndCarol: GroupChatEvent[] = [...withBob, { type: 'MemberAdded', data: { userId: 'carol', role: 'member' } }];
const twoAdmins: GroupChatEvent[] = [...withBob, { type: 'MemberRoleChanged', data: { userId: 'bob', role: 'admin' } }];
const deleted: GroupChatEvent[] = [...withBob, { type: 'GroupChatDeleted', data: {} }];

t.test('no chat yet', async (t) => {
  t.test('create: the creator becomes owner and admin', async (t) => {
    spec(t).given([]).when({ type: 'CreateGroupChat', actorId: 'alice', name: 'Team' }).then(created);
  });
  t.test('rename is 404', async (t) => {
    spec(t).given([]).when({ type: 'RenameGroupChat', actorId: 'alice', name: 'x' }).thenError('not-found', 'group chat not found');
  });
  t.test('add member is 404', async (t) => {
    spec(t).given([]).when({ type: 'AddMember', actorId: 'alice', userId: 'bob', role: 'member' }).thenError('not-found', 'group chat not found');
  });
  t.test('change role is 404', async (t) => {
    spec(t).given([]).when({ type: 'ChangeMemberRole', actorId: 'alice', userId: 'bob', role: 'admin' }).thenError('not-found', 'group chat not found');
  });
  t.test('remove member is 404', async (t) => {
    spec(t).given([]).when({ type: 'RemoveMember', actorId: 'alice', userId: 'alice' }).thenError('not-found', 'group chat not found');
  });
  t.test('delete is 404', async (t) => {
    spec(t).given([]).when({ type: 'DeleteGroupChat', actorId: 'alice' }).thenError('not-found', 'group chat not found');
  });
  t.test('events before the creation describe no chat', async (t) => {
    const stray: GroupChatEvent[] = [
      { type: 'GroupChatRenamed', data: { name: 'Stray' } },
      { type: 'MemberAdded', data: { userId: 'alice', role: 'admin' } },
      { type: 'MemberRoleChanged', data: { userId: 'alice', role: 'admin' } },
      { type: 'MemberRemoved', data: { userId: 'bob' } },
      { type: 'GroupChatDeleted', data: {} },
    ];
    spec(t).given(stray).when({ type: 'DeleteGroupChat', actorId: 'alice' }).thenError('not-found', 'group chat not found');
    spec(t).given(stray).when({ type: 'CreateGroupChat', actorId: 'alice', name: 'Team' }).then(created);
  });
});

t.test('an existing chat', async (t) => {
  t.test('cannot be created again', async (t) => {
    spec(t).given(created).when({ type: 'CreateGroupChat', actorId: 'alice', name: 'Again' }).thenError('conflict', 'group chat already exists');
  });
  t.test('a non-member gets 404 for every command, never 403, and the message says nothing of membership', async (t) => {
    const given = spec(t).given(withBob);
    given.when({ type: 'RenameGroupChat', actorId: 'eve', name: 'x' }).thenError('not-found', 'group chat not found');
    given.when({ type: 'AddMember', actorId: 'eve', userId: 'eve', role: 'admin' }).thenError('not-found', 'group chat not found');
    given.when({ type: 'ChangeMemberRole', actorId: 'eve', userId: 'bob', role: 'admin' }).thenError('not-found', 'group chat not found');
    given.when({ type: 'RemoveMember', actorId: 'eve', userId: 'bob' }).thenError('not-found', 'group chat not found');
    given.when({ type: 'DeleteGroupChat', actorId: 'eve' }).thenError('not-found', 'group chat not found');
  });

  t.test('rename', async (t) => {
    t.test('by an admin', async (t) => {
      spec(t).given(withBob).when({ type: 'RenameGroupChat', actorId: 'alice', name: 'Crew' }).then([{ type: 'GroupChatRenamed', data: { name: 'Crew' } }]);
    });
    t.test('to the same name is a conflict', async (t) => {
      spec(t).given(withBob).when({ type: 'RenameGroupChat', actorId: 'alice', name: 'Team' }).thenError('conflict', 'group chat already has this name');
    });
    t.test('compares with the name of the last rename', async (t) => {
      const renamed: GroupChatEvent[] = [...withBob, { type: 'GroupChatRenamed', data: { name: 'Crew' } }];
      spec(t).given(renamed).when({ type: 'RenameGroupChat', actorId: 'alice', name: 'Crew' }).thenError('conflict', 'group chat already has this name');
      spec(t).given(renamed).when({ type: 'RenameGroupChat', actorId: 'alice', name: 'Team' }).then([{ type: 'GroupChatRenamed', data: { name: 'Team' } }]);
    });
    t.test('by a plain member is forbidden', async (t) => {
      spec(t).given(withBob).when({ type: 'RenameGroupChat', actorId: 'bob', name: 'Mine' }).thenError('forbidden', 'only an admin may rename the group chat');
    });
  });

  t.test('add member', async (t) => {
    t.test('by an admin', async (t) => {
      spec(t).given(withBob).when({ type: 'AddMember', actorId: 'alice', userId: 'carol', role: 'admin' }).then([
        { type: 'MemberAdded', data: { userId: 'carol', role: 'admin' } },
      ]);
    });
    t.test('who is already a member is a conflict', async (t) => {
      spec(t).given(withBob).when({ type: 'AddMember', actorId: 'alice', userId: 'bob', role: 'admin' }).thenError('conflict', 'bob is already a member');
    });
    t.test('by a plain member is forbidden', async (t) => {
      spec(t).given(withBob).when({ type: 'AddMember', actorId: 'bob', userId: 'carol', role: 'member' }).thenError('forbidden', 'only an admin may add members');
    });
    t.test('the 100th member is fine, the 101st a conflict', async (t) => {
      const ninetyNine: GroupChatEvent[] = [...created];
      for (let n = 1; n < 99; n++) ninetyNine.push({ type: 'MemberAdded', data: { userId: `user${n}`, role: 'member' } });
      spec(t).given(ninetyNine).when({ type: 'AddMember', actorId: 'alice', userId: 'last', role: 'member' }).then([
        { type: 'MemberAdded', data: { userId: 'last', role: 'member' } },
      ]);
      const hundred: GroupChatEvent[] = [...ninetyNine, { type: 'MemberAdded', data: { userId: 'last', role: 'member' } }];
      spec(t)
        .given(hundred)
        .when({ type: 'AddMember', actorId: 'alice', userId: 'one-more', role: 'member' })
        .thenError('conflict', 'a group chat has at most 100 members');
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
    t.test('a promoted member acts as an admin', async (t) => {
      spec(t).given(twoAdmins).when({ type: 'AddMember', actorId: 'bob', userId: 'carol', role: 'member' }).then([
        { type: 'MemberAdded', data: { userId: 'carol', role: 'member' } },
      ]);
    });
    t.test('demote an admin while another admin remains', async (t) => {
      spec(t).given(twoAdmins).when({ type: 'ChangeMemberRole', actorId: 'bob', userId: 'alice', role: 'member' }).then([
        { type: 'MemberRoleChanged', data: { userId: 'alice', role: 'member' } },
      ]);
    });
    t.test('a demoted admin is a plain member', async (t) => {
      const demoted: GroupChatEvent[] = [...twoAdmins, { type: 'MemberRoleChanged', data: { userId: 'alice', role: 'member' } }];
      spec(t).given(demoted).when({ type: 'RenameGroupChat', actorId: 'alice', name: 'Mine' }).thenError('forbidden', 'only an admin may rename the group chat');
    });
    t.test('demoting the last admin is a conflict', async (t) => {
      spec(t).given(withBob).when({ type: 'ChangeMemberRole', actorId: 'alice', userId: 'alice', role: 'member' }).thenError('conflict', 'cannot demote the last admin');
    });
    t.test('demoting the last admin is a conflict however many plain members there are', async (t) => {
      spec(t)
        .given(withBobAndCarol)
        .when({ type: 'ChangeMemberRole', actorId: 'alice', userId: 'alice', role: 'member' })
        .thenError('conflict', 'cannot demote the last admin');
    });
    t.test('to the role held already is a conflict', async (t) => {
      spec(t).given(withBob).when({ type: 'ChangeMemberRole', actorId: 'alice', userId: 'bob', role: 'member' }).thenError('conflict', 'bob already has role member');
    });
    t.test('of a non-member is 404', async (t) => {
      spec(t).given(withBob).when({ type: 'ChangeMemberRole', actorId: 'alice', userId: 'zed', role: 'admin' }).thenError('not-found', 'zed is not a member');
    });
    t.test('by a plain member is forbidden', async (t) => {
      spec(t).given(withBob).when({ type: 'ChangeMemberRole', actorId: 'bob', userId: 'bob', role: 'admin' }).thenError('forbidden', 'only an admin may change roles');
    });
  });

  t.test('remove member', async (t) => {
    t.test('by an admin', async (t) => {
      spec(t).given(withBob).when({ type: 'RemoveMember', actorId: 'alice', userId: 'bob' }).then([{ type: 'MemberRemoved', data: { userId: 'bob' } }]);
    });
    t.test('a member removing itself', async (t) => {
      spec(t).given(withBob).when({ type: 'RemoveMember', actorId: 'bob', userId: 'bob' }).then([{ type: 'MemberRemoved', data: { userId: 'bob' } }]);
    });
    t.test('a plain member removing someone else is forbidden', async (t) => {
      spec(t).given(withBob).when({ type: 'RemoveMember', actorId: 'bob', userId: 'alice' }).thenError('forbidden', 'only an admin may remove other members');
    });
    t.test('a non-member target is 404', async (t) => {
      spec(t).given(withBob).when({ type: 'RemoveMember', actorId: 'alice', userId: 'zed' }).thenError('not-found', 'zed is not a member');
    });
    t.test('removing the last admin is a conflict, even by itself', async (t) => {
      spec(t).given(withBob).when({ type: 'RemoveMember', actorId: 'alice', userId: 'alice' }).thenError('conflict', 'cannot remove the last admin');
    });
    t.test('the last admin cannot leave however many plain members there are', async (t) => {
      spec(t).given(withBobAndCarol).when({ type: 'RemoveMember', actorId: 'alice', userId: 'alice' }).thenError('conflict', 'cannot remove the last admin');
    });
    t.test('an admin may leave while another admin remains', async (t) => {
      spec(t).given(twoAdmins).when({ type: 'RemoveMember', actorId: 'alice', userId: 'alice' }).then([{ type: 'MemberRemoved', data: { userId: 'alice' } }]);
    });
    t.test('an admin may remove another admin', async (t) => {
      spec(t).given(twoAdmins).when({ type: 'RemoveMember', actorId: 'alice', userId: 'bob' }).then([{ type: 'MemberRemoved', data: { userId: 'bob' } }]);
    });
    t.test('a removed member is no longer a member', async (t) => {
      const bobGone: GroupChatEvent[] = [...withBob, { type: 'MemberRemoved', data: { userId: 'bob' } }];
      spec(t).given(bobGone).when({ type: 'RemoveMember', actorId: 'bob', userId: 'bob' }).thenError('not-found', 'group chat not found');
      spec(t).given(bobGone).when({ type: 'RemoveMember', actorId: 'alice', userId: 'bob' }).thenError('not-found', 'bob is not a member');
    });
  });

  t.test('delete', async (t) => {
    t.test('by an admin', async (t) => {
      spec(t).given(withBob).when({ type: 'DeleteGroupChat', actorId: 'alice' }).then([{ type: 'GroupChatDeleted', data: {} }]);
    });
    t.test('by a plain member is forbidden', async (t) => {
      spec(t).given(withBob).when({ type: 'DeleteGroupChat', actorId: 'bob' }).thenError('forbidden', 'only an admin may delete the group chat');
    });
  });
});

t.test('a deleted chat', async (t) => {
  t.test('answers every command of a member with gone', async (t) => {
    const given = spec(t).given(deleted);
    given.when({ type: 'RenameGroupChat', actorId: 'alice', name: 'x' }).thenError('gone', 'group chat was deleted');
    given.when({ type: 'AddMember', actorId: 'alice', userId: 'carol', role: 'member' }).thenError('gone', 'group chat was deleted');
    given.when({ type: 'ChangeMemberRole', actorId: 'alice', userId: 'bob', role: 'admin' }).thenError('gone', 'group chat was deleted');
    given.when({ type: 'RemoveMember', actorId: 'bob', userId: 'bob' }).thenError('gone', 'group chat was deleted');
    given.when({ type: 'DeleteGroupChat', actorId: 'alice' }).thenError('gone', 'group chat was deleted');
  });
  t.test('still hides itself from non-members', async (t) => {
    spec(t).given(deleted).when({ type: 'RenameGroupChat', actorId: 'eve', name: 'x' }).thenError('not-found', 'group chat not found');
  });
  t.test('cannot be created again', async (t) => {
    spec(t).given(deleted).when({ type: 'CreateGroupChat', actorId: 'alice', name: 'x' }).thenError('conflict', 'group chat already exists');
  });
});

t.test('the state a chat folds into', async (t) => {
  const { evolve, initialState } = groupChatDecider;
  t.same(initialState(), { status: 'absent' });
  const state = [...withBob, { type: 'GroupChatRenamed', data: { name: 'Crew' } } as const].reduce(evolve, initialState());
  t.same(state, { status: 'active', name: 'Crew', ownerId: 'alice', members: new Map([['alice', 'admin'], ['bob', 'member']]) });
  t.same(evolve(state, { type: 'GroupChatDeleted', data: {} }), { ...state, status: 'deleted' });
});

t.test('a command this version does not know is a defect, never a decision', async (t) => {
  t.throws(() => groupChatDecider.decide({ type: 'Promote', actorId: 'alice' } as never, groupChatDecider.initialState(), undefined), {
    message: 'unknown command {"type":"Promote","actorId":"alice"}',
  });
});

t.test('an event this version does not know leaves the state as it was', async (t) => {
  const state = created.reduce(groupChatDecider.evolve, groupChatDecider.initialState());
  t.equal(groupChatDecider.evolve(state, { type: 'SomethingNew', data: {} } as never), state);
});

t.test('user ids named after built-in object properties are ordinary users', async (t) => {
  const hostile = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__'];
  for (const userId of hostile) {
    t.test(`${userId} is not a member of a chat it was not added to`, async (t) => {
      spec(t).given(withBob).when({ type: 'RenameGroupChat', actorId: userId, name: 'mine now' }).thenError('not-found', 'group chat not found');
      spec(t).given(withBob).when({ type: 'RemoveMember', actorId: userId, userId: 'bob' }).thenError('not-found', 'group chat not found');
      spec(t).given(withBob).when({ type: 'ChangeMemberRole', actorId: 'alice', userId, role: 'admin' }).thenError('not-found', `${userId} is not a member`);
      spec(t).given(withBob).when({ type: 'RemoveMember', actorId: 'alice', userId }).thenError('not-found', `${userId} is not a member`);
    });
    t.test(`${userId} can be added, promoted, act as admin and be removed`, async (t) => {
      const added: GroupChatEvent = { type: 'MemberAdded', data: { userId, role: 'member' } };
      spec(t).given(withBob).when({ type: 'AddMember', actorId: 'alice', userId, role: 'member' }).then([added]);
      spec(t).given([...withBob, added]).when({ type: 'AddMember', actorId: 'alice', userId, role: 'member' }).thenError('conflict', `${userId} is already a member`);
      spec(t).given([...withBob, added]).when({ type: 'RenameGroupChat', actorId: userId, name: 'x' }).thenError('forbidden', 'only an admin may rename the group chat');
      const promoted: GroupChatEvent = { type: 'MemberRoleChanged', data: { userId, role: 'admin' } };
      spec(t).given([...withBob, added, promoted]).when({ type: 'DeleteGroupChat', actorId: userId }).then([{ type: 'GroupChatDeleted', data: {} }]);
      const removed: GroupChatEvent = { type: 'MemberRemoved', data: { userId } };
      spec(t).given([...withBob, added, promoted, removed]).when({ type: 'DeleteGroupChat', actorId: userId }).thenError('not-found', 'group chat not found');
    });
  }
  t.test('a changed role on a non-member never makes a hidden admin', async (t) => {
    // What an admin's PUT .../members/valueOf used to do: no member, so nothing may change.
    spec(t).given(withBob).when({ type: 'ChangeMemberRole', actorId: 'alice', userId: 'valueOf', role: 'admin' }).thenError('not-found', 'valueOf is not a member');
    spec(t).given(withBob).when({ type: 'DeleteGroupChat', actorId: 'valueOf' }).thenError('not-found', 'group chat not found');
  });
  t.test('counting admins ignores inherited properties', async (t) => {
    const withConstructor: GroupChatEvent[] = [...created, { type: 'MemberAdded', data: { userId: 'constructor', role: 'admin' } }];
    const state = withConstructor.reduce(groupChatDecider.evolve, groupChatDecider.initialState());
    t.equal(state.status === 'absent' ? 0 : adminCount(state.members), 2);
  });
});
