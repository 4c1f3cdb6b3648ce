/**
 * Host labels that are vmlan's on a network and never a guest's, whoever asks for them (DHCP option
 * 12, `vmlan attach --hostname`, an id that reduces to one): the gateway's own name; localhost and
 * its loopback aliases (RFC 6761 §6.3, Debian's /etc/hosts, macOS's broadcasthost); wpad and isatap,
 * which clients use to discover a proxy or a tunnel (the two names on Microsoft DNS's global query
 * block list: whoever holds them can redirect others' traffic); `vmlan` and every label of the
 * network's domain and name, so bare `default` or `lab` keep meaning the network, not a guest.
 */
import { dnsDomainOf, VMLAN_DNS_SUFFIX, type Network } from "./network.ts";

export const ALWAYS_RESERVED = ["gateway", "localhost", "ip6-localhost", "ip6-loopback", "broadcasthost", "wpad", "isatap", VMLAN_DNS_SUFFIX] as const;

/** How error lines name the set. */
export const RESERVED_HINT = "gateway, localhost, wpad, isatap, vmlan and the network's own names";

const byNetwork = new Map<string, ReadonlySet<string>>();
/** By network object too: a stored network is one frozen object per row (store/rows.ts), and every attach asks. */
const byObject = new WeakMap<object, ReadonlySet<string>>();

/** Every reserved label of `net`, lowercase (built once per name and domain: DNS asks per query). */
export function reservedHostnames(net: Pick<Network, "name" | "dnsDomain">): ReadonlySet<string> {
  const known = byObject.get(net);
  if (known) return known;
  const set = reservedByName(net);
  if (Object.isFrozen(net)) byObject.set(net, set);
  return set;
}

function reservedByName(net: Pick<Network, "name" | "dnsDomain">): ReadonlySet<string> {
  const key = `${net.name}\0${net.dnsDomain ?? ""}`;
  let set = byNetwork.get(key);
  if (!set) {
    set = new Set<string>([...ALWAYS_RESERVED, net.name.toLowerCase(), ...dnsDomainOf(net).split(".")]);
    if (byNetwork.size >= 1024) byNetwork.clear();
    byNetwork.set(key, set);
  }
  return set;
}

export function isReservedHostname(net: Pick<Network, "name" | "dnsDomain">, name: string): boolean {
  return reservedHostnames(net).has(name.toLowerCase());
}
