/**
 * libnftables (Debian: libnftables1, which the nftables package depends on), opened on first use.
 * It is what the `nft` binary is a thin shell around: the same parser and the same netlink batch, run
 * in this process, without an exec, a dynamic link and a cache fill per rule change (an `nft -f`
 * costs 11–16 ms here, the same script in-process about 1 ms). VMLAN_LIBNFTABLES_PATH overrides the
 * path (an unloadable path makes vmlan fall back to the `nft` binary).
 * The API and flag values are libnftables.h's (nftables 0.9.0 and later; man libnftables(3)).
 */
import { FFIType } from "bun:ffi";
import { lazyLibrary } from "../load.ts";

const { ptr, u32, i32, void: none } = FFIType;

export const libnftables = lazyLibrary({
  name: "libnftables",
  envVar: "VMLAN_LIBNFTABLES_PATH",
  defaultPath: "libnftables.so.1",
  symbols: {
    nft_ctx_new: { args: [u32], returns: ptr },
    nft_ctx_free: { args: [ptr], returns: none },
    nft_ctx_output_set_flags: { args: [ptr, u32], returns: none },
    nft_ctx_buffer_output: { args: [ptr], returns: i32 },
    nft_ctx_buffer_error: { args: [ptr], returns: i32 },
    nft_ctx_get_output_buffer: { args: [ptr], returns: ptr },
    nft_ctx_get_error_buffer: { args: [ptr], returns: ptr },
    nft_run_cmd_from_buffer: { args: [ptr, ptr], returns: i32 },
  },
});

/** nft_ctx_new's flags: NFT_CTX_DEFAULT. */
export const NFT_CTX_DEFAULT = 0;
/** nft_ctx_output_set_flags: NFT_CTX_OUTPUT_JSON (1 << 4), what `nft -j` sets. */
export const NFT_CTX_OUTPUT_JSON = 1 << 4;
