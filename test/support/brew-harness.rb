# Runs a rendered Homebrew formula the way `brew install` and `brew test` would, without Homebrew:
#   ruby brew-harness.rb FORMULA.rb TARBALL PREFIX
# A small stand-in for Homebrew's formula DSL (the methods vmlan's formula uses, with Homebrew's
# paths: bin, man1, bash_completion = etc/bash_completion.d, zsh_completion, fish_completion) loads the
# formula, checks that the url and sha256 for this OS and CPU are the tarball's, unpacks it, runs
# `install` into PREFIX from the tarball's top folder (as Homebrew does), then the `test` block.
# Any failed assertion, missing file or non-zero command exits 1 with the reason.
require "digest"
require "fileutils"
require "pathname"
require "tmpdir"

module Harness
  MAC = RUBY_PLATFORM.include?("darwin")
  ARM = %w[arm64 aarch64].include?(`uname -m`.strip)
  class Failure < StandardError; end
end

class Pathname
  # Homebrew's Pathname#install: files (or {source => new name}) into this folder; a missing source fails.
  def install(*sources)
    mkpath
    sources.flatten.each do |s|
      pairs = s.is_a?(Hash) ? s.to_a : [[s, File.basename(s.to_s)]]
      pairs.each do |src, dst|
        raise Harness::Failure, "install: no such file #{src}" unless File.exist?(src.to_s)
        FileUtils.cp(src.to_s, (self / dst.to_s).to_s, preserve: true)
      end
    end
  end
end

class Formula
  class << self
    attr_reader :urls, :test_block
    def desc(text = nil) = (@desc = text if text)
    def homepage(url = nil) = (@homepage = url if url)
    def license(name = nil) = (@license = name if name)
    def version(v = nil)
      @version = v if v
      @version
    end
    def url(u, **_options) = ((@urls ||= []) << { url: u })
    def sha256(sum) = (@urls.last[:sha256] = sum)
    def on_macos = (yield if Harness::MAC)
    def on_linux = (yield unless Harness::MAC)
    def on_arm = (yield if Harness::ARM)
    def on_intel = (yield unless Harness::ARM)
    def depends_on(*) = nil
    def test(&block) = (@test_block = block)
  end

  attr_reader :prefix

  def initialize(prefix) = (@prefix = Pathname.new(prefix))
  def version = self.class.version
  def bin = prefix / "bin"
  def share = prefix / "share"
  def man1 = share / "man/man1"
  def bash_completion = prefix / "etc/bash_completion.d"
  def zsh_completion = share / "zsh/site-functions"
  def fish_completion = share / "fish/vendor_completions.d"
  def testpath = (@testpath ||= Pathname.new(Dir.mktmpdir("brew-test-")))

  def shell_output(cmd, result = 0)
    out = `#{cmd}`
    raise Harness::Failure, "#{cmd} exited #{$?.exitstatus}, expected #{result}" unless $?.exitstatus == result
    out
  end

  def assert_match(expected, actual)
    ok = expected.is_a?(Regexp) ? expected.match?(actual) : actual.include?(expected)
    raise Harness::Failure, "assert_match: #{expected.inspect} not in #{actual[0, 200].inspect}" unless ok
  end

  def assert_path_exists(path) = (raise Harness::Failure, "assert_path_exists: #{path}" unless File.exist?(path.to_s))
end

formula_file, tarball, prefix = ARGV
begin
  load formula_file
  klass = Object.const_get(File.basename(formula_file, ".rb").capitalize)
  urls = klass.urls || []
  raise Harness::Failure, "one url for this OS and CPU expected, got #{urls.length}" unless urls.length == 1
  asset = urls.first
  raise Harness::Failure, "url #{asset[:url]} is not #{File.basename(tarball)}" unless asset[:url].end_with?("/#{File.basename(tarball)}")
  actual = Digest::SHA256.file(tarball).hexdigest
  raise Harness::Failure, "sha256 #{asset[:sha256]} is not the tarball's #{actual}" unless asset[:sha256] == actual
  formula = klass.new(prefix)
  Dir.mktmpdir("brew-build-") do |build|
    system("tar", "-xzf", tarball, "-C", build) or raise Harness::Failure, "tar -xzf #{tarball} failed"
    tops = Dir.children(build)
    raise Harness::Failure, "the tarball has #{tops.length} top-level entries, Homebrew wants one folder" unless tops.length == 1
    Dir.chdir(File.join(build, tops.first)) { formula.install }
  end
  formula.caveats
  formula.instance_eval(&klass.test_block)
  puts "ok: #{asset[:url]} installed into #{prefix}; test block passed"
rescue Harness::Failure => e
  warn "FAIL: #{e.message}"
  exit 1
end
