// sharded.mjs - twin.mjs with a gateway that honours Discord sharding, for the shard tests.
//
// discord-digital-twin ignores IDENTIFY's `shard` and sends every guild to every connection;
// its READY has no `shard` field (discord.py's AutoShardedClient needs one). Here each
// connection keeps the [shard_id, shard_count] it identified with, READY says it back, and a
// guild's events (READY's guild list, GUILD_CREATE, anything with a guild_id) go only to the
// connection whose shard Discord's rule picks: (guild_id >> 22) % shard_count.
//
// The twin seeds its guilds within one millisecond, so their ids share a timestamp and that rule
// puts them all on one shard: TWIN_SHARD_BY=order puts the i-th seeded guild on shard
// i % shard_count instead (the bot routes nothing by guild id itself).
//
//   node sharded.mjs ['{"guilds":[...]}']   (the same arguments and output as twin.mjs)
import { DiscordGateway } from 'discord-digital-twin'

const byOrder = process.env.TWIN_SHARD_BY === 'order'
const order = new Map() // guild id -> its place among the seeded guilds (from READY)

function shardOf(guildId, count) {
  if (byOrder) return (order.get(guildId) ?? 0) % count
  return Number((BigInt(guildId) >> 22n) % BigInt(count))
}

function guildOf(event, data) {
  if (event === 'GUILD_CREATE' || event === 'GUILD_UPDATE') return data?.id
  return data?.guild_id
}

const handleMessage = DiscordGateway.prototype.handleMessage
DiscordGateway.prototype.handleMessage = function (client, raw) {
  const payload = JSON.parse(raw)
  if (payload.op === 2) client.shard = payload.d?.shard ?? [0, 1] // IDENTIFY
  return handleMessage.call(this, client, raw)
}

const sendDispatch = DiscordGateway.prototype.sendDispatch
DiscordGateway.prototype.sendDispatch = function (client, event, data) {
  const [shardId, count] = client.shard ?? [0, 1]
  if (event === 'READY') {
    data.guilds.forEach((g, i) => order.has(g.id) || order.set(g.id, i))
    const guilds = data.guilds.filter((g) => shardOf(g.id, count) === shardId)
    return sendDispatch.call(this, client, event, { ...data, guilds, shard: [shardId, count] })
  }
  const guildId = guildOf(event, data)
  if (guildId && shardOf(guildId, count) !== shardId) return undefined
  return sendDispatch.call(this, client, event, data)
}

await import('./twin.mjs')
