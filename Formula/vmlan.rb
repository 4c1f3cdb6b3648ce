# Homebrew formula for vmlan: one self-contained binary per OS/CPU, attached to each GitHub
# release as vmlan-{darwin,linux}-{arm64,x64} (built by `bun scripts/build.ts`).
#
# RELEASE SCRIPT: before publishing, replace every "REPLACE_WITH_SHA256_OF_..." below with
# `shasum -a 256 dist/vmlan-<os>-<arch>` of the asset uploaded for this version, set `version`,
# and replace OWNER with the GitHub owner of the release repository. The formula is not
# installable while a placeholder is left (Homebrew rejects a sha256 that is not 64 hex digits).
class Vmlan < Formula
  desc "Real networks for virtual machines and containers: vmnet on macOS, bridges on Linux"
  homepage "https://github.com/OWNER/vmlan"
  version "0.1.0"
  license "Apache-2.0"

  on_macos do
    on_arm do
      url "https://github.com/OWNER/vmlan/releases/download/v#{version}/vmlan-darwin-arm64"
      sha256 "REPLACE_WITH_SHA256_OF_vmlan-darwin-arm64"
    end
    on_intel do
      url "https://github.com/OWNER/vmlan/releases/download/v#{version}/vmlan-darwin-x64"
      sha256 "REPLACE_WITH_SHA256_OF_vmlan-darwin-x64"
    end
  end

  on_linux do
    on_arm do
      url "https://github.com/OWNER/vmlan/releases/download/v#{version}/vmlan-linux-arm64"
      sha256 "REPLACE_WITH_SHA256_OF_vmlan-linux-arm64"
    end
    on_intel do
      url "https://github.com/OWNER/vmlan/releases/download/v#{version}/vmlan-linux-x64"
      sha256 "REPLACE_WITH_SHA256_OF_vmlan-linux-x64"
    end
  end

  def install
    # The download is the bare executable, named after the asset (vmlan-<os>-<arch>).
    os = OS.mac? ? "darwin" : "linux"
    arch = Hardware::CPU.arm? ? "arm64" : "x64"
    bin.install "vmlan-#{os}-#{arch}" => "vmlan"
    # `vmlan completion bash|zsh|fish` prints each script without loading any native library.
    generate_completions_from_executable(bin/"vmlan", "completion", shells: [:bash, :zsh, :fish])
  end

  test do
    assert_match "vmlan #{version}", shell_output("#{bin}/vmlan version")
    assert_match "complete -F _vmlan vmlan", shell_output("#{bin}/vmlan completion bash")
  end
end
