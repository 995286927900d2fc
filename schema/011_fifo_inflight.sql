-- FIFO receives ask, group by group, whether a message of the group is in
-- flight (received, not yet visible again). Only received messages are in
-- this index (sends do not touch it), and a receive's probe is a plain index
-- scan, which marks the entries of deleted messages dead as it passes them,
-- where the old whole-queue scan of sy_messages_ready (a bitmap scan, which
-- never does) revisited every deleted message until VACUUM.
CREATE INDEX sy_messages_inflight ON sy_messages (queue_id, group_id, visible_at)
    WHERE receive_count > 0 AND group_id IS NOT NULL;
