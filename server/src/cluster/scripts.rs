//! The Lua scripts a node runs in the cluster's Redis. Each runs atomically,
//! which is what makes a room's `seq` contiguous across nodes (`[MSG-4]`):
//! the number, the stream entry and the publication are one step, so every
//! node hears a room's messages in `seq` order and the stream has no hole a
//! subscriber could not fill. Keys are passed as KEYS; channels and set
//! members, which Redis does not count as keys, as ARGV. Sent with EVAL
//! (Redis caches the compiled script by its hash): after a Redis restart
//! nothing needs loading again, and a pipeline never half-fails on NOSCRIPT.

/// Numbers a room message, appends it to the room's stream and publishes it.
/// KEYS: room seq, room log, message id, the set of room logs.
/// ARGV: room channel, record tail, room key. Returns `{seq, id}`.
pub const ROOM_APPEND: &str = r"
local seq = redis.call('INCR', KEYS[1])
local id = redis.call('INCR', KEYS[3])
local record = seq .. ' ' .. id .. ' ' .. ARGV[2]
redis.call('XADD', KEYS[2], seq .. '-1', 'm', record)
redis.call('SADD', KEYS[4], ARGV[3])
redis.call('PUBLISH', ARGV[1], 'M' .. record)
return {seq, id}
";

/// Numbers a direct message, appends it to the conversation's stream and
/// publishes it to the node holding the recipient's name (whose value is
/// `"<node id> <connection id>"`). KEYS: recipient's name, message id,
/// conversation log, the set of conversation logs. ARGV: record tail, node
/// channel prefix, conversation key. Returns the id, or 0 when nobody holds
/// the name (`[DM-2]`).
pub const DIRECT_APPEND: &str = r"
local owner = redis.call('GET', KEYS[1])
if not owner then return 0 end
local space = string.find(owner, ' ', 1, true)
if not space then return 0 end
local id = redis.call('INCR', KEYS[2])
local record = id .. ' ' .. ARGV[1]
redis.call('XADD', KEYS[3], id .. '-1', 'm', record)
redis.call('SADD', KEYS[4], ARGV[3])
redis.call('PUBLISH', ARGV[2] .. string.sub(owner, 1, space - 1),
  'D' .. string.sub(owner, space + 1) .. ' ' .. record)
return id
";

/// A user logged in on a node, or logged out (then only if that node still
/// holds it). KEYS: online users. ARGV: name, node id, 1 (in) or 0 (out).
pub const USER_ONLINE: &str = r"
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
elseif redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 1
";

/// Records a member of a room on a node and announces it.
/// KEYS: room members, rooms. ARGV: member name, node id, room channel,
/// presence payload, room key, room name.
pub const MEMBER_JOIN: &str = r"
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[5], ARGV[6])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
";

/// Removes a member of a room if the node given still holds it (a user who
/// meanwhile joined through another node stays), and announces it; the
/// room leaves the list of rooms when empty. KEYS and ARGV as
/// [`MEMBER_JOIN`]. Returns 1 when the member was removed.
pub const MEMBER_LEAVE: &str = r"
local removed = 0
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('PUBLISH', ARGV[3], ARGV[4])
  removed = 1
end
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('HDEL', KEYS[2], ARGV[5])
end
return removed
";
