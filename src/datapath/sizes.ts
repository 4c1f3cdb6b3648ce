/**
 * Frame and batch sizes the helper's start needs for its start line and buffers, apart from the
 * forwarding code (forward.ts, offload/), which is loaded only once the start line is out.
 */

/** Frames per recvmmsg/sendmmsg call (vmnet-helper uses 128; 64 keeps a batch of 1514 B frames under 100 KB). */
export const BATCH_SIZE = 64;
/** vmnet's vmnet_max_packet_size with TSO (vmnet-helper's docs/integration.md: 64 KiB frames). */
export const TSO_MAX_PACKET_SIZE = 65550;
/** Frames per batch when frames may be 64 KiB (vmnet-helper allocates 16 then, against 128). */
export const TSO_BATCH_SIZE = 16;
