-- Nothing to do: PostgreSQL's 0012 adds the server-side function that writes a vote's pending
-- row in one round trip; SQLite's begin_call is one statement already. Kept so that both
-- backends count their versions alike.
SELECT 1;
