/** `npm run token -- <user>`: prints a bearer token for local use, signed with JWT_SECRET. */
import { developmentSecret, issueToken } from '../src/shared/auth.ts';

const [userId] = process.argv.slice(2);
if (!userId) {
  console.error('usage: npm run token -- <user-id>');
  process.exit(2);
}
try {
  console.log(issueToken(userId, process.env.JWT_SECRET ?? developmentSecret));
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
