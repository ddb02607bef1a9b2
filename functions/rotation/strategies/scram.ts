// PostgreSQL SCRAM-SHA-256 password verifiers (RFC 5802/7677, the format `\password` sends).
// Rotor sends ALTER ROLE ... PASSWORD with the verifier, never the plain password, so the new
// password cannot end up in the server's statement log (log_statement = ddl/all) or in
// pg_stat_activity; the server stores the verifier as given.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

const ITERATIONS = 4096;

export function scramSha256Verifier(
  password: string,
  salt: Buffer = randomBytes(16),
  iterations = ITERATIONS,
): string {
  // SASLprep is the identity for printable ASCII, which is all Rotor generates; other input is
  // NFKC-normalised as the closest cheap approximation.
  const normalised = /^[\x20-\x7e]*$/.test(password) ? password : password.normalize('NFKC');
  const salted = pbkdf2Sync(normalised, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
