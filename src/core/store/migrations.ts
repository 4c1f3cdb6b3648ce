/**
 * Schema migrations, applied in order inside one transaction; PRAGMA user_version is the
 * number of migrations applied. Never edit a shipped migration: add a new one.
 */
export const MIGRATIONS: string[] = [
  // 1: networks, attachments (sticky leases), opaque backend serialization per network.
  `
  CREATE TABLE networks (
    name TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    subnet TEXT NOT NULL,
    gateway TEXT NOT NULL,
    subnet_v6 TEXT,
    gateway_v6 TEXT,
    mtu INTEGER NOT NULL,
    bridge TEXT NOT NULL UNIQUE,
    labels TEXT NOT NULL,
    builtin INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    last_allocated INTEGER,
    backend BLOB
  ) STRICT;
  CREATE TABLE attachments (
    network TEXT NOT NULL REFERENCES networks(name) ON DELETE CASCADE,
    id TEXT NOT NULL,
    mac TEXT NOT NULL,
    addr INTEGER NOT NULL,
    address_v6 TEXT,
    hostname TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'released')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (network, id),
    UNIQUE (network, addr)
  ) STRICT;
  CREATE UNIQUE INDEX attachments_active_mac ON attachments(network, mac) WHERE state = 'active';
  CREATE INDEX attachments_released ON attachments(network, state, updated_at);
  CREATE INDEX attachments_hostname ON attachments(network, hostname);
  `,
  // 2: guest services per network: DHCP on/off (on by default), DNS domain (null = "<name>.vmlan").
  `
  ALTER TABLE networks ADD COLUMN dhcp INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE networks ADD COLUMN dns_domain TEXT;
  CREATE INDEX attachments_mac ON attachments(network, mac);
  `,
  // 3: DHCP lease lifetimes and address holds (issue #12). expires_at (ms since the epoch): an
  // attachment DHCP activated ends then unless renewed; NULL = until detach (attach, helpers, VMs).
  // origin: who made the row ('dhcp' = a MAC vmlan did not know), so strangers only reclaim
  // strangers' claims. address_holds: addresses held without an attachment (an offer not yet
  // REQUESTed, an address a client DHCPDECLINEd). Rows made by DHCP before this schema ('mac-'
  // ids) become DHCP leases that end an hour after the upgrade unless their client renews.
  // Hostnames are stored lowercase from now on (DNS compares names without case).
  `
  ALTER TABLE attachments ADD COLUMN expires_at INTEGER;
  ALTER TABLE attachments ADD COLUMN origin TEXT NOT NULL DEFAULT 'attach' CHECK (origin IN ('attach', 'dhcp'));
  UPDATE attachments SET origin = 'dhcp' WHERE id LIKE 'mac-%';
  UPDATE attachments SET expires_at = (unixepoch() + 3600) * 1000 WHERE origin = 'dhcp' AND state = 'active';
  UPDATE attachments SET hostname = lower(hostname) WHERE hostname <> lower(hostname);
  CREATE INDEX attachments_expiry ON attachments(network, expires_at) WHERE expires_at IS NOT NULL;
  CREATE TABLE address_holds (
    network TEXT NOT NULL REFERENCES networks(name) ON DELETE CASCADE,
    addr INTEGER NOT NULL,
    mac TEXT NOT NULL,
    reason TEXT NOT NULL CHECK (reason IN ('offer', 'declined')),
    until INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (network, addr)
  ) STRICT;
  CREATE INDEX address_holds_mac ON address_holds(network, mac);
  `,
  // 4: attachments that belong to containers (the CNI plugin): who holds them, as the runtime names it.
  // Its own table, so attachments' columns stay the IPAM's; deleted with the lease (reclaim, network rm).
  `
  CREATE TABLE container_attachments (
    network TEXT NOT NULL,
    id TEXT NOT NULL,
    container_id TEXT NOT NULL,
    ifname TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('main', 'ipam')),
    netns TEXT,
    host_ifname TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (network, id),
    FOREIGN KEY (network, id) REFERENCES attachments(network, id) ON DELETE CASCADE
  ) STRICT;
  `,
  // 5: who holds an active attachment (issue #12 item 10): the owning process as pid + start time
  // (pid reuse cannot pass for it) and the socket it serves. Rows exist only for active attachments:
  // the trigger drops the owner when the attachment is released by any path (detach, DHCP release,
  // expiry), the foreign key when it is deleted; so a claim re-activated later has no stale owner.
  `
  CREATE TABLE attachment_owners (
    network TEXT NOT NULL,
    id TEXT NOT NULL,
    pid INTEGER NOT NULL,
    start TEXT NOT NULL,
    socket TEXT,
    PRIMARY KEY (network, id),
    FOREIGN KEY (network, id) REFERENCES attachments (network, id) ON DELETE CASCADE
  ) STRICT;
  CREATE TRIGGER attachment_owner_released AFTER UPDATE OF state ON attachments WHEN NEW.state <> 'active'
  BEGIN
    DELETE FROM attachment_owners WHERE network = NEW.network AND id = NEW.id;
  END;
  `,
  // 6: bridged networks: the uplink interface (config) and what was moved from it to the bridge and
  // not given back yet (JSON, host state: written before the move, cleared after the restore).
  `
  ALTER TABLE networks ADD COLUMN uplink TEXT;
  ALTER TABLE networks ADD COLUMN uplink_moved TEXT;
  `,
  // 7: a network's IPAM pool (vmnet-style --start-address/--end-address); null = the whole subnet.
  `
  ALTER TABLE networks ADD COLUMN pool_start TEXT;
  ALTER TABLE networks ADD COLUMN pool_end TEXT;
  `,
  // 8: indexes an attach need not write (issue #15: every index a new active row enters is one more
  // page per transaction). Released claims are looked up by age and by MAC, so those two indexes hold
  // released rows only; active rows by MAC use attachments_active_mac.
  `
  DROP INDEX attachments_released;
  CREATE INDEX attachments_released ON attachments(network, updated_at) WHERE state = 'released';
  DROP INDEX attachments_mac;
  CREATE INDEX attachments_released_mac ON attachments(network, mac, updated_at) WHERE state = 'released';
  `,
  // 9: per-attachment opt-out of the ports' anti-spoofing rules (issue #12 item 2; `--allow-spoofing`).
  // A setting of the attachment like its MAC: kept when it is released, so the id gets it back.
  `
  ALTER TABLE attachments ADD COLUMN allow_spoofing INTEGER NOT NULL DEFAULT 0;
  `,
  // 10: published ports (issue #14): host ports forwarded to an attachment's guest, stored with the
  // attachment (deleted with it: a reclaimed claim or a removed network takes its ports along). Host
  // ports are a host-wide resource, hence the index on (proto, host_port) for conflict checks.
  `
  CREATE TABLE published_ports (
    network TEXT NOT NULL,
    id TEXT NOT NULL,
    proto TEXT NOT NULL CHECK (proto IN ('tcp', 'udp')),
    host_ip TEXT NOT NULL,
    host_port INTEGER NOT NULL CHECK (host_port BETWEEN 1 AND 65535),
    host_end INTEGER NOT NULL CHECK (host_end BETWEEN host_port AND 65535),
    guest_port INTEGER NOT NULL CHECK (guest_port >= 1 AND guest_port + host_end - host_port <= 65535),
    created_at TEXT NOT NULL,
    PRIMARY KEY (network, id, proto, host_ip, host_port),
    FOREIGN KEY (network, id) REFERENCES attachments(network, id) ON DELETE CASCADE
  ) STRICT;
  CREATE INDEX published_ports_host ON published_ports(proto, host_port);
  `,
  // 11: attachments rebuilt WITHOUT ROWID, keyed by (network, addr) (issue #15 §4). The rowid table
  // plus its two unique indexes were three b-trees an attach writes a page of each; now the rows live
  // in the (network, addr) b-tree, which new addresses append to, and (network, id) stays unique (the
  // children's foreign keys name it). Migrations run in a transaction, where foreign_keys cannot be
  // turned off, and dropping a parent cascades into its children: so the children are set aside in
  // temp tables, dropped, and made again with their rows after the new table has its name.
  `
  CREATE TABLE attachments_new (
    network TEXT NOT NULL REFERENCES networks(name) ON DELETE CASCADE,
    id TEXT NOT NULL,
    mac TEXT NOT NULL,
    addr INTEGER NOT NULL,
    address_v6 TEXT,
    hostname TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'released')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    expires_at INTEGER,
    origin TEXT NOT NULL DEFAULT 'attach' CHECK (origin IN ('attach', 'dhcp')),
    allow_spoofing INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (network, addr),
    UNIQUE (network, id)
  ) STRICT, WITHOUT ROWID;
  INSERT INTO attachments_new (network, id, mac, addr, address_v6, hostname, state, created_at, updated_at, expires_at, origin, allow_spoofing)
    SELECT network, id, mac, addr, address_v6, hostname, state, created_at, updated_at, expires_at, origin, allow_spoofing FROM attachments;
  CREATE TEMP TABLE m11_containers AS SELECT * FROM container_attachments;
  CREATE TEMP TABLE m11_owners AS SELECT * FROM attachment_owners;
  CREATE TEMP TABLE m11_ports AS SELECT * FROM published_ports;
  DROP TABLE container_attachments;
  DROP TABLE attachment_owners;
  DROP TABLE published_ports;
  DROP TABLE attachments;
  ALTER TABLE attachments_new RENAME TO attachments;
  CREATE UNIQUE INDEX attachments_active_mac ON attachments(network, mac) WHERE state = 'active';
  CREATE INDEX attachments_hostname ON attachments(network, hostname);
  CREATE INDEX attachments_expiry ON attachments(network, expires_at) WHERE expires_at IS NOT NULL;
  CREATE INDEX attachments_released ON attachments(network, updated_at) WHERE state = 'released';
  CREATE INDEX attachments_released_mac ON attachments(network, mac, updated_at) WHERE state = 'released';
  CREATE TABLE container_attachments (
    network TEXT NOT NULL,
    id TEXT NOT NULL,
    container_id TEXT NOT NULL,
    ifname TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('main', 'ipam')),
    netns TEXT,
    host_ifname TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (network, id),
    FOREIGN KEY (network, id) REFERENCES attachments(network, id) ON DELETE CASCADE
  ) STRICT;
  CREATE TABLE attachment_owners (
    network TEXT NOT NULL,
    id TEXT NOT NULL,
    pid INTEGER NOT NULL,
    start TEXT NOT NULL,
    socket TEXT,
    PRIMARY KEY (network, id),
    FOREIGN KEY (network, id) REFERENCES attachments (network, id) ON DELETE CASCADE
  ) STRICT;
  CREATE TRIGGER attachment_owner_released AFTER UPDATE OF state ON attachments WHEN NEW.state <> 'active'
  BEGIN
    DELETE FROM attachment_owners WHERE network = NEW.network AND id = NEW.id;
  END;
  CREATE TABLE published_ports (
    network TEXT NOT NULL,
    id TEXT NOT NULL,
    proto TEXT NOT NULL CHECK (proto IN ('tcp', 'udp')),
    host_ip TEXT NOT NULL,
    host_port INTEGER NOT NULL CHECK (host_port BETWEEN 1 AND 65535),
    host_end INTEGER NOT NULL CHECK (host_end BETWEEN host_port AND 65535),
    guest_port INTEGER NOT NULL CHECK (guest_port >= 1 AND guest_port + host_end - host_port <= 65535),
    created_at TEXT NOT NULL,
    PRIMARY KEY (network, id, proto, host_ip, host_port),
    FOREIGN KEY (network, id) REFERENCES attachments(network, id) ON DELETE CASCADE
  ) STRICT;
  CREATE INDEX published_ports_host ON published_ports(proto, host_port);
  -- Children always had foreign keys on; the filter only keeps a hand-edited orphan from failing the upgrade.
  INSERT INTO container_attachments SELECT c.* FROM temp.m11_containers c JOIN attachments a USING (network, id);
  INSERT INTO attachment_owners SELECT o.* FROM temp.m11_owners o JOIN attachments a USING (network, id);
  INSERT INTO published_ports SELECT p.* FROM temp.m11_ports p JOIN attachments a USING (network, id);
  DROP TABLE temp.m11_containers;
  DROP TABLE temp.m11_owners;
  DROP TABLE temp.m11_ports;
  `,
  // 12: most attachments' hostname is their id ("vm1", "web-2"), and (network, id) is unique and
  // indexed already: only names that differ from the id go into a hostname index, so an attach of
  // such an id writes one b-tree fewer (issue #15 §4). A lookup by name asks both (lease-queries.ts).
  `
  DROP INDEX attachments_hostname;
  CREATE INDEX attachments_named ON attachments(network, hostname) WHERE hostname <> id;
  `,
  // 13: every allocation asks when a network's first hold ends (expire): without an index that read
  // walks all of its holds, and a flood of DISCOVERs from made-up MACs on a /16 leaves tens of thousands.
  `
  CREATE INDEX address_holds_until ON address_holds(network, until);
  `,
];
