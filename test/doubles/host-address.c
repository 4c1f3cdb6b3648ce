/*
 * vmnet gives the host the network's gateway address on the bridge it makes for a network (Apple:
 * the framework reserves the second address of the range for the host), which is how the host
 * reaches guests and how vmlan's services find vmnet's bridge on macOS. The double does the same on
 * VMLAN_DOUBLE_BRIDGE when the first interface starts on a network, unless the bridge has an IPv4
 * address already (a vmlan Linux bridge, or an earlier network's).
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "double.h"

void double_host_address(const char *bridge, struct in_addr gateway, struct in_addr mask) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return;
  struct ifreq r;
  memset(&r, 0, sizeof r);
  snprintf(r.ifr_name, IFNAMSIZ, "%s", bridge);
  if (ioctl(s, SIOCGIFADDR, &r) != 0) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr = gateway};
    memcpy(&r.ifr_addr, &a, sizeof a);
    if (ioctl(s, SIOCSIFADDR, &r) != 0) perror("vmnet-double: SIOCSIFADDR");
    a.sin_addr = mask;
    memcpy(&r.ifr_netmask, &a, sizeof a);
    if (ioctl(s, SIOCSIFNETMASK, &r) != 0) perror("vmnet-double: SIOCSIFNETMASK");
  }
  close(s);
}
